/**
 * Intermediate products of an initramfs build that are worth keeping across builds: one
 * extension's bundle (its squashfs layer, firmware and microcode), the modules.dep layer of a set
 * of module-bearing extensions on one base initramfs, and the early-microcode archive of a set of
 * microcode extensions. The builder says what determines each one's bytes; a store (the asset
 * cache, in the factory) keeps them. Without a store everything is built, as the imager does.
 */
import { createHash } from 'node:crypto';

/** What one intermediate is: its type, everything that determines its bytes, and a label. */
export interface IntermediateSpec {
  /** `extension`, `modules-dep`, `microcode`: part of the key. */
  readonly type: string;
  /** Key material: pinned input digests, quirks, tool flags, format versions. */
  readonly parts: Readonly<Record<string, unknown>>;
  /** For the build status and logs, e.g. `squashfs siderolabs/amd-ucode`. */
  readonly label: string;
}

/** A local file holding the intermediate, and whether it came from the store. */
export interface ObtainedIntermediate {
  readonly path: string;
  /** The store key (undefined when the intermediate was not keyed). */
  readonly key: string | undefined;
  readonly reused: boolean;
}

/** Where intermediates come from and go to. */
export interface IntermediateStore {
  /**
   * A verified local copy of `spec` at `dest`, or (on a miss) the file `build` writes at the path
   * it is given, then kept under the spec's key. An undefined spec is never kept: built every time.
   * `signal` is the build's own (progress is reported through it).
   */
  obtain(
    spec: IntermediateSpec | undefined,
    dest: string,
    build: (out: string) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<ObtainedIntermediate>;
}

/** The key of an intermediate: sha256 over its type and key material (never equal to an asset key). */
export function intermediateKey(spec: IntermediateSpec): string {
  return createHash('sha256')
    .update(JSON.stringify({ intermediate: spec.type, ...spec.parts }))
    .digest('hex');
}

/** A store that keeps nothing: every intermediate is built (tests, the imager's own behaviour). */
export const NO_INTERMEDIATE_STORE: IntermediateStore = {
  async obtain(spec, dest, build) {
    await build(dest);
    return {
      path: dest,
      key: spec ? intermediateKey(spec) : undefined,
      reused: false,
    };
  },
};
