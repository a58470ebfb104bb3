/**
 * Benchmark: UKI assembly + Authenticode signing with a ~60 MB initramfs (BENCH_INITRD_MB),
 * against the ukify-free reference steps in the same process, interleaved, medians of BENCH_RUNS:
 *
 * - ours: `appendSections` (the TypeScript PE writer) + `signPe` (TypeScript Authenticode);
 * - reference: binutils `objcopy --add-section … --change-section-vma …` with the same section
 *   addresses + `sbsign` (sbsigntool), both on the same files;
 * - for information: the whole signed `buildUki` (plan, `.pcrsig` over three banks, assembly,
 *   signing) against the same reference, which computes no PCR policy.
 *
 * Inputs: the fixture release's systemd stub and kernel, a generated incompressible initramfs,
 * Debian's OVMF snakeoil key (decrypted once for sbsign), all local before timing.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readPe } from '../src/builders/formats/pe/reader.js';
import { appendSections, type NewSection } from '../src/builders/formats/pe/writer.js';
import { buildUki } from '../src/builders/uki/build.js';
import { osReleaseText } from '../src/builders/uki/os-release.js';
import { deriveQuirks } from '../src/profile/quirks.js';
import { parseTalosVersion } from '../src/profile/version.js';
import { signPe } from '../src/secureboot/authenticode.js';
import { loadSigningIdentity } from '../src/secureboot/keys.js';
import { fixtureReleases } from '../test/helpers/fixture-factory.js';
import { envNumber, figure, median, timed } from './lib/report.js';

const exec = promisify(execFile);
const RUNS = envNumber('BENCH_RUNS', 5);
const INITRD_MB = envNumber('BENCH_INITRD_MB', 60);
const TAG = 'v1.10.6';
const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';

const fx = await fixtureReleases();
const v = fx.versions.find((x) => x.spec.tag === TAG)!;
const a = v.artifacts.amd64!;
const stubPath = path.join(fx.root, a.systemdStub);
const kernelPath = path.join(fx.root, a.vmlinuz);
const dir = await mkdtemp(path.join(os.tmpdir(), 'uki-bench-'));

try {
  const initrd = path.join(dir, 'initramfs.xz');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(initrd);
    out.on('error', reject);
    for (let i = 0; i < INITRD_MB; i++) out.write(randomBytes(1 << 20));
    out.end(resolve);
  });
  const signer = await loadSigningIdentity(
    { path: SNAKEOIL_KEY, configKey: 'bench', password: 'snakeoil' },
    { path: SNAKEOIL_CERT, configKey: 'bench' },
  );
  const plainKey = path.join(dir, 'snakeoil.key');
  await writeFile(plainKey, signer.key.export({ type: 'pkcs8', format: 'pem' }));
  const { privateKey: pcrKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cmdline = 'console=ttyS0 panic=-1 talos.platform=metal';
  const files: Record<string, string> = {
    '.osrel': path.join(dir, 'osrel'),
    '.cmdline': path.join(dir, 'cmdline'),
    '.linux': kernelPath,
    '.initrd': initrd,
  };
  await writeFile(files['.osrel']!, osReleaseText(TAG));
  await writeFile(files['.cmdline']!, cmdline);
  const sections: NewSection[] = Object.entries(files).map(([name, p]) => ({ name, data: { path: p } }));
  const stub = await readPe(stubPath, 'stub');

  const ours = async (n: number): Promise<void> => {
    const unsigned = path.join(dir, `ours-${n}.efi`);
    await appendSections(stubPath, stub, sections, unsigned, { timeDateStamp: 1_700_000_000, what: 'stub' });
    await signPe(unsigned, path.join(dir, `ours-${n}.signed.efi`), signer, 'uki');
  };
  // The reference places sections at the addresses our writer picks (same layout work).
  const layout = await appendSections(stubPath, stub, sections, path.join(dir, 'layout.efi'), {
    timeDateStamp: 0,
    what: 'stub',
  });
  const vma = new Map(layout.sections.map((s) => [s.name, s.virtualAddress]));
  const reference = async (n: number): Promise<void> => {
    const unsigned = path.join(dir, `ref-${n}.efi`);
    const args: string[] = [];
    for (const [name, p] of Object.entries(files))
      args.push(
        '--add-section',
        `${name}=${p}`,
        '--change-section-vma',
        `${name}=0x${vma.get(name)!.toString(16)}`,
      );
    await exec('objcopy', [...args, stubPath, unsigned]);
    await exec('sbsign', [
      '--key',
      plainKey,
      '--cert',
      SNAKEOIL_CERT,
      '--output',
      `${unsigned}.signed`,
      unsigned,
    ]);
  };
  const full = async (n: number): Promise<void> => {
    await buildUki(
      {
        stubPath,
        stubWhat: 'stub',
        kernelPath,
        initrdPath: initrd,
        cmdline,
        version: TAG,
        quirks: deriveQuirks(parseTalosVersion(TAG)),
        medium: 'uki',
        sourceDateEpoch: 1_700_000_000,
        signing: { signer, pcrKey },
        tmpDir: dir,
      },
      path.join(dir, `full-${n}.efi`),
    );
  };
  const clean = async (): Promise<void> => {
    for (const p of ['ours', 'ref', 'full'])
      for (let n = 0; n <= RUNS; n++)
        for (const f of [`${p}-${n}.efi`, `${p}-${n}.signed.efi`, `${p}-${n}.efi.signed`])
          await rm(path.join(dir, f), { force: true });
  };

  console.log(
    `uki: ${INITRD_MB} MiB initramfs + ${(layout.size / 1048576).toFixed(1)} MiB UKI; ${RUNS} runs (median) after a warm-up`,
  );
  await ours(0);
  await reference(0);
  await full(0);
  const t: Record<'ours' | 'ref' | 'full', number[]> = { ours: [], ref: [], full: [] };
  for (let n = 1; n <= RUNS; n++) {
    t.ours.push((await timed(() => ours(n))).ms);
    t.ref.push((await timed(() => reference(n))).ms);
    t.full.push((await timed(() => full(n))).ms);
    await clean();
  }
  figure('UKI assembly + signing (PE writer + Authenticode)', median(t.ours), median(t.ref), 'ms');
  figure('signed buildUki incl. .pcrsig (3 banks)', median(t.full), median(t.ref), 'ms');
  console.log(
    `reference = objcopy --add-section + sbsign; runs ours ${t.ours.map((x) => x.toFixed(0)).join('/')}, reference ${t.ref.map((x) => x.toFixed(0)).join('/')}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
