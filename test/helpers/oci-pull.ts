/** Real-client helpers for registry tests: skopeo against loopback registries, and reading what it pulled. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs skopeo (plain HTTP allowed), returning stdout; rejects with stderr in the message. */
export async function skopeo(args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run('skopeo', args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.join(' ')}: ${err.stderr ?? err.message}`);
  }
}

/** `skopeo inspect --raw` of a docker:// reference, parsed. */
export async function inspectRaw(ref: string): Promise<{ text: string; doc: Record<string, unknown> }> {
  const text = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  return { text, doc: JSON.parse(text) as Record<string, unknown> };
}

/** One pulled image in an OCI layout written by skopeo. */
export interface PulledLayout {
  manifestDigest: string;
  manifest: { config: { digest: string }; layers: { digest: string; mediaType: string; size: number }[] };
  config: { architecture?: string; os?: string; rootfs: { diff_ids: string[] } };
  /** Paths of the layer blobs, in order. */
  layers: string[];
}

/** `skopeo copy docker://<ref> oci:<dir>:pulled` for one arch; returns what landed in the layout. */
export async function pullToLayout(ref: string, dir: string, arch: 'amd64' | 'arm64'): Promise<PulledLayout> {
  await skopeo([
    'copy',
    '--src-tls-verify=false',
    `--override-arch=${arch}`,
    '--override-os=linux',
    `docker://${ref}`,
    `oci:${dir}:pulled`,
  ]);
  const blob = (digest: string): string => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'pulled',
  );
  if (!entry) throw new Error(`no "pulled" tag in ${dir}/index.json`);
  const manifest = JSON.parse(await readFile(blob(entry.digest), 'utf8')) as PulledLayout['manifest'];
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as PulledLayout['config'];
  return {
    manifestDigest: entry.digest,
    manifest,
    config,
    layers: manifest.layers.map((l) => blob(l.digest)),
  };
}

/** Regular-file names in a (compressed) tar layer, in archive order. */
export async function layerFiles(path: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tf', path], { maxBuffer: 16 << 20 });
  return stdout
    .split('\n')
    .filter((l) => l !== '' && !l.endsWith('/'))
    .map((l) => l.replace(/^\.\//, ''));
}
