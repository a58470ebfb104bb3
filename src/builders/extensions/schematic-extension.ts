/**
 * The virtual extension that carries the schematic ID into every image (image-factory §9,
 * errata §3/E12). Two namings:
 *
 * - `schematic` (default, current Image Factory): `/usr/local/share/schematic/<id>`, file mode
 *   0644, author `Image Factory (<externalURL>)`, and from Talos 1.7 an `extraInfo` literal with
 *   the canonical schematic YAML;
 * - `flavor` (the original Image Service): `/usr/local/share/flavor/<id>`, file mode 0755,
 *   author `Image Service`, no `extraInfo`.
 *
 * It is produced both as the exact tar the upstream service hands to the imager (so hashes
 * can be compared) and as an unpacked extension directory for our initramfs builder.
 */
import { chmod, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareSemVer, parseTolerant } from './constraint.js';
import { MANIFEST_VERSION, type ExtensionManifest } from './manifest.js';
import { emitManifest } from './manifest-yaml.js';
import { ustarArchive, type UstarEntry } from '../formats/ustar.js';

/** Which upstream generation to imitate. */
export type SchematicExtensionNaming = 'schematic' | 'flavor';

/** Inputs of the virtual extension. */
export interface SchematicExtensionOptions {
  /** The schematic ID (64 hex characters). */
  id: string;
  /** Default `schematic`. */
  naming?: SchematicExtensionNaming;
  /** The service's external URL as configured (verbatim, e.g. `https://factory.talos.dev/`). */
  externalURL?: string;
  /** Overrides the author text (default depends on naming and externalURL). */
  author?: string;
  /** Target Talos version; `extraInfo` is only written for ≥ 1.7 (always, when omitted). */
  talosVersion?: string;
  /** Canonical schematic YAML, written as `extraInfo` (schematic naming only). */
  schematicYaml?: string;
}

const DESCRIPTIONS: Readonly<Record<SchematicExtensionNaming, string>> = {
  // "built with schematic." is upstream's literal text; kept for byte compatibility.
  schematic: 'Virtual extension which specifies the schematic of the image built with schematic.',
  flavor: 'Virtual extension which specifies the flavor of the image built with Image Service.',
};

const FILE_MODES: Readonly<Record<SchematicExtensionNaming, number>> = { schematic: 0o644, flavor: 0o755 };

const EXTRA_INFO_SINCE = { major: 1, minor: 7, patch: 0, prerelease: [] } as const;

/** The manifest of the virtual extension. */
export function schematicExtensionManifest(o: SchematicExtensionOptions): ExtensionManifest {
  const naming = o.naming ?? 'schematic';
  if (!/^[0-9a-f]{64}$/.test(o.id))
    throw new Error(`schematic extension: invalid schematic ID ${JSON.stringify(o.id)}`);
  const defaultAuthor =
    naming === 'flavor'
      ? 'Image Service'
      : o.externalURL !== undefined
        ? `Image Factory (${o.externalURL})`
        : 'Image Factory';
  const manifest: ExtensionManifest = {
    version: MANIFEST_VERSION,
    metadata: {
      name: naming,
      version: o.id,
      author: o.author ?? defaultAuthor,
      description: DESCRIPTIONS[naming],
      compatibility: { talos: { version: '>= 1.0.0' } },
    },
  };
  if (
    naming === 'schematic' &&
    o.schematicYaml !== undefined &&
    o.schematicYaml !== '' &&
    extraInfoApplies(o.talosVersion)
  ) {
    manifest.metadata.extraInfo = o.schematicYaml;
  }
  return manifest;
}

/** The virtual extension's `manifest.yaml` text (what the initramfs and the bundles carry). */
export function schematicExtensionManifestYaml(o: SchematicExtensionOptions): string {
  return emitManifest(schematicExtensionManifest(o));
}

/** The tar archive upstream builds, byte for byte (Go archive/tar, USTAR). */
export function schematicExtensionTar(o: SchematicExtensionOptions): Buffer {
  const naming = o.naming ?? 'schematic';
  const manifest = Buffer.from(schematicExtensionManifestYaml(o), 'utf8');
  const dirs = [
    'rootfs/',
    'rootfs/usr/',
    'rootfs/usr/local/',
    'rootfs/usr/local/share/',
    `rootfs/usr/local/share/${naming}/`,
  ];
  const entries: UstarEntry[] = [
    { name: 'manifest.yaml', type: 'file', mode: 0o644, data: manifest },
    ...dirs.map((name): UstarEntry => ({ name, type: 'directory', mode: 0o755 })),
    { name: `rootfs/usr/local/share/${naming}/${o.id}`, type: 'file', mode: FILE_MODES[naming] },
  ];
  return ustarArchive(entries);
}

/** Writes the extension unpacked (manifest.yaml + rootfs/) into the empty or new directory `dir`. */
export async function writeSchematicExtensionDir(o: SchematicExtensionOptions, dir: string): Promise<void> {
  const naming = o.naming ?? 'schematic';
  const leaf = join(dir, 'rootfs/usr/local/share', naming);
  await mkdir(leaf, { recursive: true });
  await writeFile(join(dir, 'manifest.yaml'), schematicExtensionManifestYaml(o));
  await chmod(join(dir, 'manifest.yaml'), 0o644);
  const file = join(leaf, o.id);
  await writeFile(file, '');
  await chmod(file, FILE_MODES[naming]);
  // Same modes and (zero) times as the tar entries, whatever the umask: the squashfs made from
  // this directory is then reproducible.
  await utimes(file, 0, 0);
  const dirs = [
    'rootfs/usr/local/share/' + naming,
    'rootfs/usr/local/share',
    'rootfs/usr/local',
    'rootfs/usr',
    'rootfs',
  ];
  for (const d of dirs) {
    await chmod(join(dir, d), 0o755);
    await utimes(join(dir, d), 0, 0);
  }
  await utimes(join(dir, 'manifest.yaml'), 0, 0);
}

function extraInfoApplies(talosVersion: string | undefined): boolean {
  if (talosVersion === undefined) return true;
  const v = parseTolerant(talosVersion);
  return compareSemVer({ ...v, prerelease: [] }, EXTRA_INFO_SINCE) >= 0;
}
