import { ownLabels, ownedPath, type LabelSelector, type Logger } from '@dockop/runtime';
import type { ContainerStatus } from './container-resource.js';
import type { DockerClient } from './docker-client.js';

export interface TrustResult {
  /** The container's labels without the untrusted sensitive ones. */
  labels: Record<string, string>;
  /** Sensitive label keys dropped, sorted. */
  untrusted: string[];
  /**
   * Why they were dropped: `image` = the image config sets the same spec path to the same value
   * (through any alias); `uninspectable` = the image could not be inspected (deleted, 404, engine
   * error), so no sensitive label can be told apart from an inherited one (fail closed).
   */
  why?: 'image' | 'uninspectable';
  /** For `uninspectable`: what the engine answered. */
  detail?: string;
}

/**
 * Spec paths whose labels are sensitive: `sensitivePaths`, plus where the legacy `sensitiveLabels`
 * keys decode to. A path is sensitive when it equals one of these or lies under one.
 */
export function sensitiveSpecPaths(selector: LabelSelector): string[] {
  return [...new Set(sensitivePathsOf(selector))];
}

/**
 * `sensitiveSpecPaths`, maybe with repeats: without legacy keys, `sensitivePaths` itself (every
 * container of every list asks; a copy each time was measurable at 2,000 containers).
 */
function sensitivePathsOf(selector: LabelSelector): readonly string[] {
  const paths = selector.sensitivePaths ?? [];
  if (!selector.sensitiveLabels?.length) return paths;
  const out = [...paths];
  for (const key of selector.sensitiveLabels) {
    const p = ownedPath(selector, key);
    if (p !== undefined) out.push(p);
  }
  return out;
}

function isSensitive(path: string, sensitive: readonly string[]): boolean {
  // Indexed: per owned label of every container, in cold code a for-of allocates per step.
  for (let i = 0; i < sensitive.length; i++) {
    const s = sensitive[i] as string;
    // `path` is `s` or lies under it (`s.` then more), without building `${s}.` each time.
    if (path.startsWith(s) && (path.length === s.length || path.charCodeAt(s.length) === DOT)) {
      return true;
    }
  }
  return false;
}

const DOT = 0x2e;

/**
 * True when any of `labels` maps to a sensitive spec path: only then can the image matter. Scans
 * the keys without copying them (every container of every list passes here, and most carry no
 * sensitive label). `ownedKeys`: the keys of `labels` the selector owns, when the caller has
 * them (label-decoder's `ownedKeys`): only those are looked at.
 */
export function hasSensitiveLabel(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
  ownedKeys?: readonly string[],
): boolean {
  const sensitive = sensitivePathsOf(selector);
  if (sensitive.length === 0) return false;
  // Object.keys: own enumerable keys only, as ownLabels would keep. Indexed, as isSensitive.
  const keys = ownedKeys ?? Object.keys(labels);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const p = ownedPath(selector, key);
    if (p !== undefined && typeof labels[key] === 'string' && isSensitive(p, sensitive))
      return true;
  }
  return false;
}

/**
 * The sensitive label keys of `labels` that can't be trusted: those whose decoded spec path the
 * image sets to the same value under any key the selector maps there (`backrest.post` and
 * `restic-compose-backup.post` alike), or, when `imageLabels` is undefined (the image could not
 * be inspected), every sensitive one. Pure, so one-shot modes can apply the same rule.
 */
export function untrustedLabels(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
  imageLabels: Readonly<Record<string, string>> | undefined,
): string[] {
  if (imageLabels !== undefined) {
    return untrustedByImage(selector, labels, sensitiveImageValues(selector, imageLabels));
  }
  const out: string[] = [];
  const sensitive = sensitivePathsOf(selector);
  if (sensitive.length === 0) return out;
  // Own string entries only, as ownLabels keeps.
  const keys = Object.keys(labels);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (typeof labels[key] !== 'string') continue;
    const p = ownedPath(selector, key);
    if (p !== undefined && isSensitive(p, sensitive)) out.push(key);
  }
  return out.sort();
}

/**
 * Spec path → the values `imageLabels` give it through any key the selector maps there, for the
 * sensitive paths only: what a container's labels are compared with, made once per image (and
 * selector) instead of once per container.
 */
export function sensitiveImageValues(
  selector: LabelSelector,
  imageLabels: Readonly<Record<string, string>>,
): Map<string, Set<string>> {
  const fromImage = new Map<string, Set<string>>();
  const sensitive = sensitivePathsOf(selector);
  if (sensitive.length === 0) return fromImage;
  // Object.keys and the string check: own string entries only, as ownLabels keeps.
  const keys = Object.keys(imageLabels);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = imageLabels[key];
    if (typeof value !== 'string') continue;
    const p = ownedPath(selector, key);
    if (p === undefined || !isSensitive(p, sensitive)) continue;
    let values = fromImage.get(p);
    if (!values) fromImage.set(p, (values = new Set()));
    values.add(value);
  }
  return fromImage;
}

/**
 * `untrustedLabels` against an inspected image, given its `sensitiveImageValues`: no copy of
 * either label map. Only sensitive paths are in `fromImage`, so a path found there is sensitive.
 * `ownedKeys`: as for `hasSensitiveLabel`.
 */
export function untrustedByImage(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
  fromImage: ReadonlyMap<string, ReadonlySet<string>>,
  ownedKeys?: readonly string[],
): string[] {
  const out: string[] = [];
  // The common case: the image sets no sensitive label, so nothing is inherited.
  if (fromImage.size === 0) return out;
  const keys = ownedKeys ?? Object.keys(labels);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = labels[key];
    if (typeof value !== 'string') continue;
    const p = ownedPath(selector, key);
    if (p !== undefined && fromImage.get(p)?.has(value)) out.push(key);
  }
  return out.sort();
}

/** An image inspected successfully: its labels never change (an image id names its content). */
class InspectedImage {
  readonly labels: Record<string, string>;
  // By selector object: selectors come from definitions, which are constants.
  readonly #sensitive = new WeakMap<LabelSelector, Map<string, Set<string>>>();

  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }

  /** `sensitiveImageValues` of these labels, made once per selector. */
  sensitiveValues(selector: LabelSelector): ReadonlyMap<string, ReadonlySet<string>> {
    let values = this.#sensitive.get(selector);
    if (!values)
      this.#sensitive.set(selector, (values = sensitiveImageValues(selector, this.labels)));
    return values;
  }
}

/** Image labels, or why there are none to compare with. */
type ImageLookup = { ok: true; image: InspectedImage } | { ok: false; detail: string };

/**
 * Labels can come from the image (a LABEL in a third-party Dockerfile), not from whoever ran the
 * container. A sensitive label (one whose spec path makes the controller run commands or read
 * paths) is not trusted when the image config sets the same spec path to the same value, through
 * any alias, unless the operator opts in. An image that can't be inspected fails closed.
 */
export class ImageLabelTrust {
  readonly #client: DockerClient;
  readonly #logger: Logger | undefined;
  /** By image id: an image id names immutable content, so its labels never change. */
  readonly #cache = new Map<string, Promise<ImageLookup>>();
  /** The lookups of `#cache` that settled OK, readable without an await. */
  readonly #inspected = new Map<string, InspectedImage>();

  constructor(client: DockerClient, logger?: Logger) {
    this.#client = client;
    this.#logger = logger;
  }

  async filter(
    selector: LabelSelector,
    container: Pick<ContainerStatus, 'labels' | 'imageId'>,
    trustImageLabels: boolean,
  ): Promise<TrustResult> {
    const now =
      this.filterNow(selector, container, trustImageLabels) ??
      this.filterInspected(selector, container);
    if (now) return now;
    const labels = container.labels;
    const lookup = await this.#lookup(container.imageId);
    if (lookup.ok) return judge(selector, labels, lookup.image);
    const untrusted = untrustedLabels(selector, labels, undefined);
    if (untrusted.length === 0) return { labels, untrusted };
    return {
      labels: without(labels, untrusted),
      untrusted,
      why: 'uninspectable',
      detail: lookup.detail,
    };
  }

  /**
   * `filter`'s answer when it needs no image inspect (image labels trusted, or no sensitive label
   * present: most containers), else undefined. Lets a caller skip an await per container.
   * `ownedKeys`: as for `hasSensitiveLabel`.
   */
  filterNow(
    selector: LabelSelector,
    container: Pick<ContainerStatus, 'labels'>,
    trustImageLabels: boolean,
    ownedKeys?: readonly string[],
  ): TrustResult | undefined {
    const labels = container.labels;
    if (trustImageLabels || !hasSensitiveLabel(selector, labels, ownedKeys)) {
      return { labels, untrusted: [] };
    }
    return undefined;
  }

  /**
   * `filter`'s answer with image labels not trusted, when the container's image was already
   * inspected successfully; else undefined (not asked yet, still pending, or failed: a failure is
   * not remembered, `filter` asks again and fails closed). After the first container of an image,
   * the others of a list need no await. `ownedKeys`: as for `hasSensitiveLabel`.
   */
  filterInspected(
    selector: LabelSelector,
    container: Pick<ContainerStatus, 'labels' | 'imageId'>,
    ownedKeys?: readonly string[],
  ): TrustResult | undefined {
    const image = this.#inspected.get(container.imageId);
    if (!image) return undefined;
    return judge(selector, container.labels, image, ownedKeys);
  }

  /** The image config's labels; undefined when the image can't be inspected. */
  async imageLabels(imageId: string): Promise<Record<string, string> | undefined> {
    const r = await this.#lookup(imageId);
    return r.ok ? r.image.labels : undefined;
  }

  /** Images whose labels are remembered (one inspect per image id; failures are not kept). */
  get cachedImages(): number {
    return this.#cache.size;
  }

  #lookup(imageId: string): Promise<ImageLookup> {
    let cached = this.#cache.get(imageId);
    if (!cached) {
      cached = this.#inspect(imageId);
      this.#cache.set(imageId, cached);
      // A failure is not remembered: the next event or resync asks again.
      void cached.then((r) => {
        if (!r.ok) this.#cache.delete(imageId);
      });
    }
    return cached;
  }

  async #inspect(imageId: string): Promise<ImageLookup> {
    try {
      const info = await this.#client.request('images.inspect', (d) =>
        d.getImage(imageId).inspect(),
      );
      const image = new InspectedImage(ownLabels(info.Config?.Labels ?? undefined));
      // Before the promise settles: whoever awaited it finds the image here too.
      this.#inspected.set(imageId, image);
      return { ok: true, image };
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      const detail =
        status === 404
          ? 'image not found (deleted?)'
          : `inspect failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200);
      this.#logger?.warn('docker.image.uninspectable', { image: imageId, detail });
      return { ok: false, detail };
    }
  }
}

/** `filter`'s answer against an inspected image. `ownedKeys`: as for `hasSensitiveLabel`. */
function judge(
  selector: LabelSelector,
  labels: Record<string, string>,
  image: InspectedImage,
  ownedKeys?: readonly string[],
): TrustResult {
  const untrusted = untrustedByImage(selector, labels, image.sensitiveValues(selector), ownedKeys);
  if (untrusted.length === 0) return { labels, untrusted };
  return { labels: without(labels, untrusted), untrusted, why: 'image' };
}

/** An own-string copy of `labels` without `keys`. */
function without(labels: Record<string, string>, keys: readonly string[]): Record<string, string> {
  const kept = ownLabels(labels);
  for (const k of keys) delete kept[k];
  return kept;
}
