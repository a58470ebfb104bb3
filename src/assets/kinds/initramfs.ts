/**
 * `initramfs-<arch>.xz`: pulls each requested extension image for the arch, unpacks and validates
 * it (hostile archives, layout, compatibility with the target version), adds the virtual schematic
 * extension last, and appends everything to the release's initramfs (talos-imager §2).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSchematicExtensionDir } from '../../builders/extensions/schematic-extension.js';
import { unpackExtensionImage } from '../../builders/extensions/unpack.js';
import { validateExtensionDir } from '../../builders/extensions/validate.js';
import { buildInitramfs, type InitramfsExtension } from '../../builders/initramfs/build.js';
import type { Quirks } from '../../profile/quirks.js';
import type { ReleaseInputs, ReleaseSource } from '../../release/release-source.js';
import type { LoadedSchematic } from '../../storage/schematic-service.js';
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
  workDir: string;
  signal: AbortSignal;
}

/** Builds the initramfs file inside `workDir` and returns its path. */
export async function buildInitramfsAsset(o: InitramfsAssetInput): Promise<string> {
  const extensions: InitramfsExtension[] = [];
  for (const [i, ext] of o.extensions.entries()) {
    const image = await o.release.pullImage(ext.name, ext.digest, o.inputs.arch, o.signal);
    const dir = join(o.workDir, 'extensions', String(i));
    await unpackExtensionImage({
      name: ext.name,
      layers: image.layers,
      destDir: dir,
      signal: o.signal,
      ...(o.limits ? { limits: o.limits } : {}),
    });
    const manifest = await validateExtensionDir(dir, { name: ext.name, talosVersion: o.version });
    extensions.push({ name: ext.name, dir, metadata: manifest.metadata });
  }
  const virtualDir = join(o.workDir, 'extensions', 'schematic');
  await writeSchematicExtensionDir(
    {
      id: o.schematic.id,
      naming: o.virtual.naming,
      externalURL: o.virtual.externalURL,
      talosVersion: o.version,
      schematicYaml: o.schematic.canonical,
    },
    virtualDir,
  );
  extensions.push({ name: o.virtual.naming, dir: virtualDir });
  const result = await buildInitramfs({
    baseInitramfs: o.inputs.initramfs,
    extensions,
    quirks: { zstd: o.quirks.useZstdCompression, usrLib: o.quirks.usrMerge },
    workDir: join(o.workDir, 'initramfs'),
    output: join(o.workDir, 'initramfs.xz'),
    sourceDateEpoch: 0,
    signal: o.signal,
  });
  return result.path;
}

/** The initramfs kind. */
export const initramfsKind: AssetKindModule = {
  kind: 'initramfs',
  salt: 'initramfs-1',
  async plan(ctx) {
    // The user's mistakes first (400), before any large download.
    const names = ctx.schematic.schematic.customization.systemExtensions?.officialExtensions ?? [];
    const entries = await ctx.release.resolveExtensions(ctx.version, names);
    const extensions: ResolvedExtension[] = entries.map((e) => ({ name: e.name, digest: e.digest }));
    const virtual = ctx.settings.schematicExtension;
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
          workDir: b.workDir,
          signal: b.signal,
        });
      },
    };
  },
};
