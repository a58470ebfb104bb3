/**
 * Asset use case shared by every frontend: (schematic, version, asset request) → a cached asset.
 * Validates the combination, resolves the inputs (release files, extension images) so their
 * digests can go into the cache key, then hands a build function to the BuildRunner.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CachedAsset } from '../cache/asset-cache.js';
import { FactoryError } from '../errors.js';
import { FIELD_VERSION_REQUIREMENTS, fieldApplies } from '../profile/applicability.js';
import type { AssetRequest, BuildRequest } from '../profile/build-request.js';
import { normalizeBuildRequest } from '../profile/build-request.js';
import { buildCmdline } from '../profile/cmdline.js';
import { deriveQuirks, type Quirks } from '../profile/quirks.js';
import { parseTalosVersion } from '../profile/version.js';
import type { ReleaseSource } from '../release/release-source.js';
import type { LoadedSchematic } from '../storage/schematic-service.js';
import { BUILDER_SALT } from './builder-salt.js';
import { raceAbort, type BuildRunner } from './build-runner.js';
import { checkExtensionList } from './extension-list.js';
import { buildInitramfsAsset, type ResolvedExtension } from './initramfs-asset.js';

/** How the virtual schematic extension is stamped. */
export interface SchematicExtensionConfig {
  naming: 'schematic' | 'flavor';
  externalURL: string;
}

/** Dependencies of {@link AssetService}. */
export interface AssetServiceDeps {
  release: ReleaseSource;
  runner: BuildRunner;
  schematicExtension: SchematicExtensionConfig;
  /** Caps on one unpacked extension image. */
  extensionLimits?: { maxBytes: number; maxEntries: number };
  /** Extensions one build may include (build.maxExtensions). */
  maxExtensions?: number;
}

const REQUIREMENT_MESSAGES: Record<string, string> = {
  overlay: 'overlay is not supported for Talos version',
  embeddedMachineConfiguration: 'embedding configuration is not supported for Talos version',
};

/** Builds or fetches assets. */
export class AssetService {
  readonly #d: AssetServiceDeps;

  constructor(deps: AssetServiceDeps) {
    this.#d = deps;
  }

  /** Checks the schematic fields that need a minimum Talos version (upstream answers 400). */
  #checkRequirements(loaded: LoadedSchematic, req: AssetRequest, version: string, quirks: Quirks): void {
    const s = loaded.schematic;
    const present: Record<string, boolean> = {
      overlay: s.overlay !== undefined,
      embeddedMachineConfiguration: (s.customization.embeddedMachineConfiguration ?? '') !== '',
    };
    for (const [field, requirement] of Object.entries(FIELD_VERSION_REQUIREMENTS)) {
      if (!requirement || !present[field]) continue;
      const applies =
        requirement.scope === 'any' ||
        fieldApplies(field as 'overlay', req.kind, { secureBoot: req.secureBoot, quirks });
      if (applies && !quirks[requirement.quirk]) {
        throw new FactoryError(
          'PROFILE_INVALID',
          `error enhancing profile from schematic: ${REQUIREMENT_MESSAGES[field]} ${version}`,
        );
      }
    }
  }

  /**
   * Release inputs are shared by every request for (version, arch): fetched detached from any one
   * client, so a client that leaves cannot abort them for the others; each waiter may still leave.
   */
  #inputs(version: string, arch: AssetRequest['arch'], signal: AbortSignal | undefined) {
    return raceAbort(this.#d.release.inputs(version, arch), signal);
  }

  /** Returns the asset for (schematic, version, request), building it on a cache miss. */
  async get(
    loaded: LoadedSchematic,
    version: string,
    req: AssetRequest,
    signal?: AbortSignal,
  ): Promise<CachedAsset> {
    const talos = parseTalosVersion(version);
    const quirks = deriveQuirks(talos);
    this.#checkRequirements(loaded, req, version, quirks);
    const request: BuildRequest = { ...req, schematicId: loaded.id, version };
    const c = loaded.schematic.customization;

    switch (req.kind) {
      case 'kernel': {
        const inputs = await this.#inputs(version, req.arch, signal);
        const key = cacheKey('kernel', {
          arch: req.arch,
          imager: inputs.imagerDigest,
          sha256: inputs.sha256['vmlinuz'],
        });
        return this.#d.runner.get(
          key,
          async (work) => {
            const out = join(work, 'vmlinuz');
            await copyFile(inputs.kernel, out);
            return out;
          },
          signal,
          { light: true },
        );
      }
      case 'cmdline': {
        const text = buildCmdline({
          platform: req.platform,
          arch: req.arch,
          version: talos,
          kind: req.kind,
          secureBoot: req.secureBoot,
          meta: c.meta ?? [],
          extraArgs: c.extraKernelArgs ?? [],
        });
        // Keyed by the text itself: identical cmdlines share one entry whatever produced them.
        const key = cacheKey('cmdline', { text });
        return this.#d.runner.get(
          key,
          async (work) => {
            const out = join(work, 'cmdline');
            await writeFile(out, text);
            return out;
          },
          signal,
          { light: true },
        );
      }
      case 'initramfs': {
        // The user's mistakes first (400), before any large download.
        const names = checkExtensionList(
          c.systemExtensions?.officialExtensions ?? [],
          this.#d.maxExtensions ?? 64,
        );
        const entries = await raceAbort(this.#d.release.resolveExtensions(version, names), signal);
        const inputs = await this.#inputs(version, req.arch, signal);
        const extensions: ResolvedExtension[] = entries.map((e) => ({ name: e.name, digest: e.digest }));
        const key = cacheKey('initramfs', {
          request: normalizeBuildRequest(request),
          imager: inputs.imagerDigest,
          initramfs: inputs.sha256['initramfs.xz'],
          extensions,
          schematic: loaded.id,
          virtual: this.#d.schematicExtension,
        });
        return this.#d.runner.get(
          key,
          async (work, buildSignal) => {
            await mkdir(work, { recursive: true });
            return buildInitramfsAsset({
              release: this.#d.release,
              inputs,
              version,
              quirks,
              extensions,
              schematic: loaded,
              virtual: this.#d.schematicExtension,
              ...(this.#d.extensionLimits ? { limits: this.#d.extensionLimits } : {}),
              workDir: work,
              signal: buildSignal,
            });
          },
          signal,
        );
      }
      default:
        throw new FactoryError('NOT_IMPLEMENTED', `assets of kind "${req.kind}" are not implemented yet`);
    }
  }
}

/** The cache key: sha256 over the builder's salt and everything that determines the bytes. */
export function cacheKey(kind: keyof typeof BUILDER_SALT, parts: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify({ kind, salt: BUILDER_SALT[kind], ...parts }))
    .digest('hex');
}
