/**
 * Checking an unpacked extension (talos-imager §1.4): the top level holds exactly
 * `manifest.yaml` and `rootfs/`, the manifest decodes with `version: v1alpha1`, the Talos
 * compatibility constraint admits the *target* version (HEAD semantics), and optionally every
 * file sits under an allowed path prefix (1.5 always checked this; HEAD does not by default).
 */
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FactoryError } from '../../errors.js';
import { ConstraintError, parseConstraint, parseTolerant } from './constraint.js';
import { MANIFEST_VERSION, ManifestError, parseManifest, type ExtensionManifest } from './manifest.js';

/** Allowed path prefixes in Talos 1.5 (plain string-prefix test). */
export const ALLOWED_PATHS_1_5: readonly string[] = [
  '/etc/cri/conf.d',
  '/lib/firmware',
  '/lib/modules',
  '/lib64/ld-linux-x86-64.so.2',
  '/usr/etc/udev/rules.d',
  '/usr/local',
  '/usr/share/glvnd',
  '/usr/share/egl',
  '/etc/vulkan',
];

/** Allowed path prefixes in Talos HEAD. */
export const ALLOWED_PATHS_HEAD: readonly string[] = [
  '/etc/cri/conf.d',
  '/usr/lib/firmware',
  '/usr/lib/modules',
  '/usr/lib/ld-linux-x86-64.so.2',
  '/usr/lib/ld-linux-aarch64.so.1',
  '/usr/bin/ldconfig',
  '/etc/ld.so.conf',
  '/etc/ld.so.cache',
  '/usr/bin/nvidia-modprobe',
  '/usr/bin/nvidia-pcc',
  '/usr/bin/nvidia-smi',
  '/usr/bin/nvidia-ctk',
  '/usr/bin/nvidia-cdi-hook',
  '/usr/bin/nvme',
  '/usr/lib/udev/rules.d',
  '/usr/local',
  '/usr/share/glvnd',
  '/usr/share/egl',
  '/etc/vulkan',
];

/** Options for {@link validateExtensionDir}. */
export interface ValidateOptions {
  /** The extension's name in messages, e.g. `siderolabs/gvisor`. */
  name: string;
  /** Target Talos version, e.g. `v1.8.0`. */
  talosVersion: string;
  /** When set, every non-directory under rootfs/ must start with one of these prefixes. */
  allowedPrefixes?: readonly string[];
}

/** Validates an unpacked extension directory and returns its manifest. */
export async function validateExtensionDir(
  dir: string,
  options: ValidateOptions,
): Promise<ExtensionManifest> {
  const { name } = options;
  const invalid = (reason: string): FactoryError =>
    new FactoryError('EXTENSION_INVALID', `extension ${name}: ${reason}`);
  for (const entry of await readdir(dir)) {
    if (entry !== 'manifest.yaml' && entry !== 'rootfs')
      throw invalid(`unexpected file "${entry}" at the top level`);
  }
  const manifestStat = await lstat(join(dir, 'manifest.yaml')).catch(() => undefined);
  if (manifestStat === undefined) throw invalid('manifest.yaml is missing');
  if (!manifestStat.isFile()) throw invalid('manifest.yaml is not a regular file');
  const rootfsStat = await lstat(join(dir, 'rootfs')).catch(() => undefined);
  if (rootfsStat === undefined) throw invalid('rootfs/ is missing');
  if (!rootfsStat.isDirectory()) throw invalid('rootfs is not a directory');
  const text = await readFile(join(dir, 'manifest.yaml'), 'utf8');
  if (text.trim() === '') throw invalid('manifest.yaml is empty');
  const manifest = decodeManifest(text, name);
  checkCompatibility(manifest, name, options.talosVersion);
  if (options.allowedPrefixes !== undefined)
    await checkContents(join(dir, 'rootfs'), name, options.allowedPrefixes);
  return manifest;
}

/** Decodes manifest text and checks its version and required fields. */
export function decodeManifest(text: string, name: string): ExtensionManifest {
  let manifest: ExtensionManifest;
  try {
    manifest = parseManifest(text);
  } catch (e) {
    if (e instanceof ManifestError)
      throw new FactoryError('EXTENSION_INVALID', `extension ${name}: manifest.yaml: ${e.message}`, {
        cause: e,
      });
    throw e;
  }
  if (manifest.version !== MANIFEST_VERSION) {
    throw new FactoryError(
      'EXTENSION_INVALID',
      `extension ${name}: manifest.yaml: unsupported manifest version "${manifest.version}" (expected ${MANIFEST_VERSION})`,
    );
  }
  for (const field of ['name', 'version'] as const) {
    if (manifest.metadata[field] === '')
      throw new FactoryError(
        'EXTENSION_INVALID',
        `extension ${name}: manifest.yaml: metadata.${field} is empty`,
      );
  }
  return manifest;
}

/** Throws EXTENSION_UNAVAILABLE when the manifest's constraint excludes `talosVersion`. */
export function checkCompatibility(manifest: ExtensionManifest, name: string, talosVersion: string): void {
  const constraint = manifest.metadata.compatibility.talos.version;
  if (constraint.trim() === '') return;
  let admits: boolean;
  try {
    const target = parseTolerant(talosVersion);
    admits = parseConstraint(constraint)({
      major: target.major,
      minor: target.minor,
      patch: target.patch,
      prerelease: [],
    });
  } catch (e) {
    if (!(e instanceof ConstraintError)) throw e;
    throw new FactoryError(
      'EXTENSION_INVALID',
      `extension ${name}: manifest.yaml: metadata.compatibility.talos.version "${constraint}": ${e.message}`,
      { cause: e },
    );
  }
  if (!admits) {
    throw new FactoryError(
      'EXTENSION_UNAVAILABLE',
      `extension ${name}: not available for Talos ${talosVersion} (requires ${constraint})`,
    );
  }
}

/** Every non-directory must be a file or symlink under an allowed prefix. */
async function checkContents(rootfs: string, name: string, allowed: readonly string[]): Promise<void> {
  async function visit(rel: string): Promise<void> {
    for (const entry of await readdir(join(rootfs, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        await visit(child);
        continue;
      }
      const fail = (reason: string): FactoryError =>
        new FactoryError('EXTENSION_INVALID', `extension ${name}: entry "rootfs${child}": ${reason}`);
      if (!entry.isFile() && !entry.isSymbolicLink()) throw fail('special files are not allowed');
      if (!allowed.some((prefix) => child.startsWith(prefix)))
        throw fail(`path ${child} is not allowed in extensions`);
    }
  }
  await visit('');
}
