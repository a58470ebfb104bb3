/**
 * `initramfs-<arch>.xz`: pulls each requested extension image for the arch, unpacks and validates
 * it (hostile archives, layout, compatibility with the target version), adds the virtual schematic
 * extension last, and appends everything to the release's initramfs (talos-imager §2). What one
 * extension contributes is kept as a build intermediate keyed by its image digest, so a new
 * schematic with extensions seen before pulls and squashes only what is new.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  schematicExtensionManifestYaml,
  writeSchematicExtensionDir,
  type SchematicExtensionOptions,
} from '../../builders/extensions/schematic-extension.js';
import { unpackExtensionImage } from '../../builders/extensions/unpack.js';
import { decodeManifest, validateExtensionDir } from '../../builders/extensions/validate.js';
import {
  appendixCompressorArgs,
  buildInitramfs,
  type InitramfsExtension,
} from '../../builders/initramfs/build.js';
import {
  DEFAULT_APPENDIX_COMPRESSION,
  type AppendixCompression,
} from '../../builders/initramfs/compression.js';
import type { IntermediateStore } from '../../builders/initramfs/intermediates.js';
import type { Quirks } from '../../profile/quirks.js';
import type { ReleaseInputs, ReleaseSource } from '../../release/release-source.js';
import type { LoadedSchematic } from '../../storage/schematic-service.js';
import { checkExtensionList } from '../extension-list.js';
import type { AssetKindModule, SchematicExtensionConfig } from '../asset-kind.js';

/** An official extension resolved through the catalog: repository path and pinned digest. */
export interface ResolvedExtension {
  name: string;
  digest: string;
}

/** Inputs of {@link buildInitramfsAsset}. */
export interface InitramfsAssetInput {
  release: ReleaseSource;
  inputs: ReleaseInputs;
  version: string;
  quirks: Quirks;
  extensions: readonly ResolvedExtension[];
  schematic: LoadedSchematic;
  virtual: SchematicExtensionConfig;
  limits?: { maxBytes: number; maxEntries: number };
  /** Where extension bundles, modules.dep layers and microcode archives are kept (default: nowhere). */
  store?: IntermediateStore;
  /** Appendix compression levels (default {@link DEFAULT_APPENDIX_COMPRESSION}). */
  compression?: AppendixCompression;
  workDir: string;
  signal: AbortSignal;
}

/** Options of the virtual schematic extension for a schematic, version and setting. */
function virtualOptions(o: {
  schematic: LoadedSchematic;
  virtual: SchematicExtensionConfig;
  version: string;
}): SchematicExtensionOptions {
  return {
    id: o.schematic.id,
    naming: o.virtual.naming,
    externalURL: o.virtual.externalURL,
    talosVersion: o.version,
    schematicYaml: o.schematic.canonical,
  };
}

/** Builds the initramfs file inside `workDir` and returns its path. */
export async function buildInitramfsAsset(o: InitramfsAssetInput): Promise<string> {
  const { arch } = o.inputs;
  const extensions: InitramfsExtension[] = o.extensions.map((ext) => ({
    name: ext.name,
    // The catalog digest and the arch pin the image the bytes come from.
    identity: { image: ext.digest, arch },
    unpack: async (dir) => {
      const image = await o.release.pullImage(ext.name, ext.digest, arch, o.signal);
      await unpackExtensionImage({
        name: ext.name,
        layers: image.layers,
        destDir: dir,
        signal: o.signal,
        ...(o.limits ? { limits: o.limits } : {}),
      });
      return (await validateExtensionDir(dir, { name: ext.name, talosVersion: o.version })).metadata;
    },
  }));
  const virtual = virtualOptions(o);
  const manifest = schematicExtensionManifestYaml(virtual);
  extensions.push({
    name: o.virtual.naming,
    identity: {
      virtual: {
        id: virtual.id,
        naming: virtual.naming,
        manifest: createHash('sha256').update(manifest).digest('hex'),
      },
    },
    unpack: async (dir) => {
      await writeSchematicExtensionDir(virtual, dir);
      return decodeManifest(await readFile(join(dir, 'manifest.yaml'), 'utf8'), o.virtual.naming).metadata;
    },
  });
  const result = await buildInitramfs({
    baseInitramfs: o.inputs.initramfs,
    // The imager manifest digest and the arch pin the base initramfs (no blob needed for the key).
    baseIdentity: `${o.inputs.imagerDigest}/${o.inputs.arch}`,
    extensions,
    quirks: { zstd: o.quirks.useZstdCompression, usrLib: o.quirks.usrMerge },
    compression: o.compression ?? DEFAULT_APPENDIX_COMPRESSION,
    workDir: join(o.workDir, 'initramfs'),
    output: join(o.workDir, 'initramfs.xz'),
    sourceDateEpoch: 0,
    talosVersion: o.version,
    ...(o.store ? { store: o.store } : {}),
    signal: o.signal,
  });
  return result.path;
}

/** The initramfs kind. */
export const initramfsKind: AssetKindModule = {
  kind: 'initramfs',
  // 2: bundles (an overwritten firmware file keeps its mode, as the imager's O_CREATE does),
  // appendix compression levels in the key.
  salt: 'initramfs-2',
  async plan(ctx) {
    // The user's mistakes first (400), before any large download.
    const names = checkExtensionList(
      ctx.schematic.schematic.customization.systemExtensions?.officialExtensions ?? [],
      ctx.settings.maxExtensions ?? 64,
    );
    const entries = await ctx.release.resolveExtensions(ctx.version, names);
    const extensions: ResolvedExtension[] = entries.map((e) => ({ name: e.name, digest: e.digest }));
    const virtual = ctx.settings.schematicExtension;
    const compression = ctx.settings.initramfsCompression ?? DEFAULT_APPENDIX_COMPRESSION;
    return {
      // Platform and secure boot do not change these bytes: every ISO, disk image and installer of
      // the schematic for this arch shares one initramfs entry.
      key: {
        arch: ctx.request.arch,
        version: ctx.version,
        imager: await ctx.imagerDigest(),
        extensions,
        schematic: ctx.schematic.id,
        virtual,
        compression: appendixCompressorArgs(ctx.quirks.useZstdCompression, compression),
      },
      async build(b) {
        await mkdir(b.workDir, { recursive: true });
        return buildInitramfsAsset({
          release: ctx.release,
          inputs: await b.inputs(),
          version: ctx.version,
          quirks: ctx.quirks,
          extensions,
          schematic: ctx.schematic,
          virtual,
          ...(ctx.settings.extensionLimits ? { limits: ctx.settings.extensionLimits } : {}),
          ...(ctx.settings.intermediates ? { store: ctx.settings.intermediates } : {}),
          compression,
          workDir: b.workDir,
          signal: b.signal,
        });
      },
    };
  },
};
