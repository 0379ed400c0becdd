import type { DockerClient } from './docker-client.js';

/** Named volumes a controller creates for its own work (scratch space) and removes again. */
export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
  /** ISO time the engine created it ('' when it does not say). */
  createdAt: string;
}

interface DockerHttpError {
  statusCode?: number;
  message?: string;
}

/**
 * Create, list and remove named volumes. Errors carry the volume's name; removing a volume that
 * is gone is not an error, one still in use by a container is (Docker refuses with 409).
 */
export class DockerVolumeActions {
  readonly #client: DockerClient;

  constructor(client: DockerClient) {
    this.#client = client;
  }

  async create(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.#client.request('volumes.create', (d) =>
        d.createVolume({ Name: name, Labels: { ...labels } }),
      );
    } catch (err) {
      throw new Error(`create volume ${name}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** Resolves false when the volume did not exist. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<boolean> {
    try {
      await this.#client.request('volumes.remove', (d) =>
        d.getVolume(name).remove({ force: opts.force === true }),
      );
      return true;
    } catch (err) {
      if ((err as DockerHttpError | null)?.statusCode === 404) return false;
      throw new Error(`remove volume ${name}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** Volumes carrying every one of `labels`. */
  async list(labels: Record<string, string>): Promise<VolumeInfo[]> {
    const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    const res = await this.#client.request('volumes.list', (d) => d.listVolumes({ filters }));
    return (res.Volumes ?? []).map((v) => ({
      name: v.Name,
      labels: Object.fromEntries(Object.entries(v.Labels ?? {})),
      createdAt: (v as { CreatedAt?: string }).CreatedAt ?? '',
    }));
  }
}

function messageOf(err: unknown): string {
  return (err as DockerHttpError | null)?.message ?? String(err);
}
