import type { Logger } from '@dockop/runtime';
import type { ContainerStatus } from './container-resource.js';
import type { DockerClient } from './docker-client.js';

export interface TrustResult {
  /** The container's labels without the untrusted sensitive ones. */
  labels: Record<string, string>;
  /** Sensitive label keys dropped because the image sets the same key to the same value. */
  untrusted: string[];
}

/**
 * Labels can come from the image (a LABEL in a third-party Dockerfile), not from whoever ran the
 * container. A sensitive label (one that makes the controller run commands or read paths) whose
 * key and value equal the image config's is not trusted unless the operator opts in.
 */
export class ImageLabelTrust {
  readonly #client: DockerClient;
  readonly #logger: Logger | undefined;
  /** By image id: an image id names immutable content, so its labels never change. */
  readonly #cache = new Map<string, Promise<Record<string, string>>>();

  constructor(client: DockerClient, logger?: Logger) {
    this.#client = client;
    this.#logger = logger;
  }

  async filter(
    sensitive: readonly string[],
    container: ContainerStatus,
    trustImageLabels: boolean,
  ): Promise<TrustResult> {
    const present = sensitive.filter((k) => container.labels[k] !== undefined);
    if (trustImageLabels || present.length === 0)
      return { labels: container.labels, untrusted: [] };
    const fromImage = await this.imageLabels(container.imageId);
    const untrusted = present.filter((k) => fromImage[k] === container.labels[k]).sort();
    if (untrusted.length === 0) return { labels: container.labels, untrusted };
    const labels = { ...container.labels };
    for (const k of untrusted) delete labels[k];
    return { labels, untrusted };
  }

  /** The image config's labels; `{}` for an image the engine no longer has (nothing to compare). */
  imageLabels(imageId: string): Promise<Record<string, string>> {
    let cached = this.#cache.get(imageId);
    if (!cached) {
      cached = this.#inspect(imageId);
      this.#cache.set(imageId, cached);
      // A failure is not remembered: the next event or resync asks again.
      cached.catch(() => this.#cache.delete(imageId));
    }
    return cached;
  }

  /** Image inspections made so far (one per image id, unless one failed). */
  get cachedImages(): number {
    return this.#cache.size;
  }

  async #inspect(imageId: string): Promise<Record<string, string>> {
    try {
      const info = await this.#client.request('images.inspect', (d) =>
        d.getImage(imageId).inspect(),
      );
      return info.Config?.Labels ?? {};
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) {
        this.#logger?.warn('docker.image.gone', { image: imageId });
        return {};
      }
      throw err;
    }
  }
}
