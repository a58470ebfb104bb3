/**
 * Fetches Debian packages for the fixtures without installing anything on the host:
 * `apt-get download` into a cache, `dpkg -x` into a per-package tree. Both steps are idempotent and
 * atomic (work in a temp dir, then rename), so concurrent test processes can share the cache.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FactoryError } from '../errors.js';
import { run } from './exec.js';

/** CPU architectures the fixtures are built for (Debian and OCI spell them the same). */
export type DebArch = 'amd64' | 'arm64';

/** The kernel of one architecture, extracted from Debian's real `linux-image-<abi>-<arch>` package. */
export interface DebianKernel {
  arch: DebArch;
  /** Real package name, e.g. `linux-image-6.1.0-56-amd64`. */
  pkg: string;
  /** Debian package version, e.g. `6.1.192-2`. */
  debVersion: string;
  /** Kernel release (`uname -r`), e.g. `6.1.0-56-amd64`. */
  kver: string;
  /** Path of the bootable kernel image (bzImage on amd64, EFI-stub Image on arm64). */
  vmlinuz: string;
  /** `lib/modules/<kver>` inside the extracted package. */
  modulesDir: string;
  /** Kernel config file. */
  config: string;
}

/** A single file taken from a package, with the package identity (for cache keys). */
export interface DebianFile {
  pkg: string;
  debVersion: string;
  path: string;
}

/** systemd-boot EFI binaries of one architecture. */
export interface DebianSystemdBoot {
  pkg: string;
  debVersion: string;
  /** `linuxx64.efi.stub` / `linuxaa64.efi.stub`. */
  stub: string;
  /** `systemd-bootx64.efi` / `systemd-bootaa64.efi`. */
  boot: string;
}

/** Options for {@link DebianPackages}. */
export interface DebianPackagesOptions {
  /** Where downloaded and extracted packages are kept (shared safely by concurrent processes). */
  cacheDir: string;
  /** Progress lines (downloads are the slow part). */
  log?: (line: string) => void;
}

/** Downloads and unpacks Debian packages into a cache; never installs or upgrades host packages. */
export class DebianPackages {
  readonly cacheDir: string;
  private readonly log: (line: string) => void;
  private archReady = new Map<DebArch, Promise<void>>();
  private depMemo = new Map<string, string>();
  private versionMemo = new Map<string, string>();

  constructor(opts: DebianPackagesOptions) {
    this.cacheDir = opts.cacheDir;
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * Resolves meta-packages (e.g. `linux-image-amd64`) to the real package each depends on whose name
   * starts with `prefix`, in one `apt-cache depends` call (each apt-cache run costs ~1 s here because
   * the image disables apt's binary cache).
   */
  async resolveDepends(specs: readonly { pkg: string; arch: DebArch; prefix: string }[]): Promise<string[]> {
    const todo = specs.filter((s) => !this.depMemo.has(`${s.pkg}:${s.arch}`));
    if (todo.length > 0) {
      for (const s of todo) await this.ensureArch(s.arch);
      const args = todo.map((s) => `${s.pkg}:${s.arch}`);
      const stdout = await this.aptCache(['depends', ...args]);
      let current: string | undefined;
      for (const line of stdout.split('\n')) {
        if (/^\S/.test(line)) {
          current = line.trim();
          continue;
        }
        const dep = /^\s*Depends:\s*(\S+)/.exec(line)?.[1]?.replace(/:.*$/, '');
        const spec = todo.find(
          (s) => current === `${s.pkg}:${s.arch}` || (current === s.pkg && s.arch === 'amd64'),
        );
        if (spec && dep?.startsWith(spec.prefix) && !this.depMemo.has(`${spec.pkg}:${spec.arch}`)) {
          this.depMemo.set(`${spec.pkg}:${spec.arch}`, dep);
        }
      }
    }
    return specs.map((s) => {
      const dep = this.depMemo.get(`${s.pkg}:${s.arch}`);
      if (dep === undefined) {
        throw new FactoryError(
          'BUILD_FAILED',
          `apt-cache depends ${s.pkg}:${s.arch}: no dependency starting with "${s.prefix}"`,
        );
      }
      return dep;
    });
  }

  /** Candidate versions of packages from the local apt lists (no network), in one `apt-cache show` call. */
  async candidateVersions(specs: readonly { pkg: string; arch: DebArch }[]): Promise<string[]> {
    const todo = specs.filter((s) => !this.versionMemo.has(`${s.pkg}:${s.arch}`));
    if (todo.length > 0) {
      for (const s of todo) await this.ensureArch(s.arch);
      const args = todo.map((s) => `${s.pkg}:${s.arch}`);
      const stdout = await this.aptCache(['show', '--no-all-versions', ...args]);
      for (const stanza of stdout.split(/\n\n+/)) {
        const pkg = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
        const arch = /^Architecture:\s*(\S+)/m.exec(stanza)?.[1];
        const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
        if (!pkg || !arch || !version) continue;
        // Architecture-independent packages answer for whichever arch was asked.
        const arches = arch === 'all' ? todo.filter((t) => t.pkg === pkg).map((t) => t.arch) : [arch];
        for (const a of arches) this.versionMemo.set(`${pkg}:${a}`, version);
      }
    }
    return specs.map((s) => {
      const v = this.versionMemo.get(`${s.pkg}:${s.arch}`);
      if (v === undefined)
        throw new FactoryError('BUILD_FAILED', `apt-cache show ${s.pkg}:${s.arch}: package unknown to apt`);
      return v;
    });
  }

  /** Candidate version of one package (see {@link candidateVersions}). */
  async candidateVersion(pkg: string, arch: DebArch): Promise<string> {
    const [v] = await this.candidateVersions([{ pkg, arch }]);
    return v!;
  }

  /** Looks up everything the fixture builder needs for `arches` in two apt-cache calls. */
  async preload(arches: readonly DebArch[]): Promise<void> {
    const kernels = await this.resolveDepends(
      arches.map((arch) => ({ pkg: `linux-image-${arch}`, arch, prefix: 'linux-image-' })),
    );
    const specs = arches.flatMap((arch, i) => [
      { pkg: kernels[i]!, arch },
      { pkg: 'busybox-static', arch },
      { pkg: 'systemd-boot-efi', arch },
    ]);
    await this.candidateVersions(specs);
  }

  /** Downloads `pkg` for `arch` into the cache (once) and returns the `.deb` path and version. */
  async download(pkg: string, arch: DebArch): Promise<{ deb: string; debVersion: string }> {
    const debVersion = await this.candidateVersion(pkg, arch);
    const dir = path.join(this.cacheDir, arch);
    await mkdir(dir, { recursive: true });
    const cached = await findDeb(dir, pkg, debVersion);
    if (cached) return { deb: cached, debVersion };
    const tmp = await mkdtemp(path.join(dir, '.dl-'));
    try {
      this.log(`apt-get download ${pkg}:${arch}=${debVersion}`);
      try {
        await run('apt-get', ['download', '-q', `${pkg}:${arch}=${debVersion}`], {
          cwd: tmp,
          step: `apt-get download ${pkg}:${arch}`,
        });
      } catch {
        // The lists may be older than the mirror (404 on a superseded version): refresh once, retry.
        await run('flock', [APT_LOCK, 'apt-get', 'update', '-q'], { step: 'apt-get update' });
        this.versionMemo.delete(`${pkg}:${arch}`);
        const fresh = await this.candidateVersion(pkg, arch);
        await run('apt-get', ['download', '-q', `${pkg}:${arch}=${fresh}`], {
          cwd: tmp,
          step: `apt-get download ${pkg}:${arch}`,
        });
        return await this.moveDownloaded(tmp, dir, pkg, fresh);
      }
      return await this.moveDownloaded(tmp, dir, pkg, debVersion);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Downloads and `dpkg -x`-extracts `pkg` (once); returns the extracted root and version. */
  async extract(pkg: string, arch: DebArch): Promise<{ root: string; debVersion: string }> {
    const { deb, debVersion } = await this.download(pkg, arch);
    const root = path.join(this.cacheDir, 'x', path.basename(deb, '.deb'));
    if (existsSync(path.join(root, '.complete'))) return { root, debVersion };
    await mkdir(path.dirname(root), { recursive: true });
    const tmp = await mkdtemp(`${root}.tmp-`);
    try {
      this.log(`dpkg -x ${path.basename(deb)}`);
      await run('dpkg', ['-x', deb, tmp], { step: `dpkg -x ${path.basename(deb)}` });
      await writeFile(path.join(tmp, '.complete'), `${pkg} ${debVersion}\n`);
      try {
        await rename(tmp, root);
      } catch (e) {
        // Another process finished first: its tree is equivalent, keep it.
        if (!existsSync(path.join(root, '.complete'))) throw e;
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return { root, debVersion };
  }

  /** The real kernel behind `linux-image-<arch>`, extracted, with its release string. */
  async kernel(arch: DebArch): Promise<DebianKernel> {
    const [pkg] = await this.resolveDepends([{ pkg: `linux-image-${arch}`, arch, prefix: 'linux-image-' }]);
    const { root, debVersion } = await this.extract(pkg!, arch);
    const kvers = await readdir(path.join(root, 'lib', 'modules'));
    const kver = kvers[0];
    if (kvers.length !== 1 || kver === undefined) {
      throw new FactoryError(
        'BUILD_FAILED',
        `${pkg}: expected exactly one lib/modules/<kver> dir, found ${kvers.join(',')}`,
      );
    }
    const vmlinuz = path.join(root, 'boot', `vmlinuz-${kver}`);
    await stat(vmlinuz);
    return {
      arch,
      pkg: pkg!,
      debVersion,
      kver,
      vmlinuz,
      modulesDir: path.join(root, 'lib', 'modules', kver),
      config: path.join(root, 'boot', `config-${kver}`),
    };
  }

  /** The static busybox binary of `arch` (from busybox-static). */
  async busybox(arch: DebArch): Promise<DebianFile> {
    const pkg = 'busybox-static';
    const { root, debVersion } = await this.extract(pkg, arch);
    const p = path.join(root, 'bin', 'busybox');
    await stat(p);
    return { pkg, debVersion, path: p };
  }

  /** The systemd-boot EFI binary and the UKI stub of `arch` (from systemd-boot-efi). */
  async systemdBoot(arch: DebArch): Promise<DebianSystemdBoot> {
    const pkg = 'systemd-boot-efi';
    const { root, debVersion } = await this.extract(pkg, arch);
    const efiArch = arch === 'amd64' ? 'x64' : 'aa64';
    const dir = path.join(root, 'usr', 'lib', 'systemd', 'boot', 'efi');
    const stub = path.join(dir, `linux${efiArch}.efi.stub`);
    const boot = path.join(dir, `systemd-boot${efiArch}.efi`);
    await stat(stub);
    await stat(boot);
    return { pkg, debVersion, stub, boot };
  }

  /** GRUB's `arm64-efi` module directory (grub-efi-arm64-bin:arm64 via multiarch), for arm64 GRUB images. */
  async grubArm64Efi(): Promise<{ pkg: string; debVersion: string; dir: string }> {
    const pkg = 'grub-efi-arm64-bin';
    const { root, debVersion } = await this.extract(pkg, 'arm64');
    const dir = path.join(root, 'usr', 'lib', 'grub', 'arm64-efi');
    await stat(dir);
    return { pkg, debVersion, dir };
  }

  /**
   * Runs a read-only `apt-cache` query, memoised on disk against the state of the apt lists (each
   * run costs ~1 s here because the image disables apt's binary cache; answers only change when
   * `apt-get update` rewrites the lists).
   */
  private async aptCache(args: string[]): Promise<string> {
    const listsDir = '/var/lib/apt/lists';
    const stamp: string[] = [];
    for (const name of (await readdir(listsDir)).sort()) {
      const st = await stat(path.join(listsDir, name)).catch(() => undefined);
      if (st?.isFile()) stamp.push(`${name}:${st.size}:${st.mtimeMs}`);
    }
    const key = createHash('sha256')
      .update(JSON.stringify([args, stamp]))
      .digest('hex');
    const memoFile = path.join(this.cacheDir, 'apt-cache-memo', `${key}.txt`);
    const hit = await readFile(memoFile, 'utf8').catch(() => undefined);
    if (hit !== undefined) return hit;
    const { stdout } = await run('apt-cache', args, { step: `apt-cache ${args.join(' ')}` });
    const text = stdout.toString('utf8');
    await mkdir(path.dirname(memoFile), { recursive: true });
    await writeFile(`${memoFile}.${process.pid}`, text);
    await rename(`${memoFile}.${process.pid}`, memoFile);
    return text;
  }

  /**
   * Makes apt know about `arch`: the foreign architecture added *and* its package lists present
   * (a run that added the architecture and died before `apt-get update` leaves lists without it).
   * Adding and updating happen under one machine-wide lock, re-checked inside it: two processes
   * (or two test runs) never update the lists at once, and the second one waits for the first
   * instead of querying half-written lists. Once per process.
   */
  private ensureArch(arch: DebArch): Promise<void> {
    let p = this.archReady.get(arch);
    if (!p) {
      p = (async () => {
        if (await aptKnowsArch(arch)) return;
        if (process.getuid?.() !== 0) {
          throw new FactoryError(
            'BUILD_FAILED',
            `apt has no ${arch} package lists; run as root, or once: sudo dpkg --add-architecture ${arch} && sudo apt-get update`,
          );
        }
        this.log(`dpkg --add-architecture ${arch} && apt-get update`);
        await run('flock', [APT_LOCK, 'sh', '-c', ADD_ARCH_SCRIPT, 'sh', arch, LISTS_DIR], {
          step: `dpkg --add-architecture ${arch} && apt-get update`,
        });
      })();
      this.archReady.set(arch, p);
    }
    return p;
  }

  private async moveDownloaded(
    tmp: string,
    dir: string,
    pkg: string,
    debVersion: string,
  ): Promise<{ deb: string; debVersion: string }> {
    const found = await findDeb(tmp, pkg, debVersion);
    if (!found)
      throw new FactoryError('BUILD_FAILED', `apt-get download ${pkg}=${debVersion}: no .deb was written`);
    const dest = path.join(dir, path.basename(found));
    await rename(found, dest);
    return { deb: dest, debVersion };
  }
}

/** Machine-wide lock around changes to apt's architectures and lists (see ensureArch). */
const APT_LOCK = '/var/lock/image-factory-apt.lock';
const LISTS_DIR = '/var/lib/apt/lists';

/** Adds architecture $1 and updates the lists unless both are in place already (run under the lock). */
const ADD_ARCH_SCRIPT = [
  'arch="$1"; lists="$2"',
  'ready() { { [ "$(dpkg --print-architecture)" = "$arch" ] || dpkg --print-foreign-architectures | grep -qx "$arch"; } && ls "$lists" | grep -q "_binary-${arch}_Packages"; }',
  'ready && exit 0',
  '[ "$(dpkg --print-architecture)" = "$arch" ] || dpkg --add-architecture "$arch"',
  'apt-get update -q',
  'ready || { echo "apt-get update brought no $arch package lists" >&2; exit 1; }',
].join('\n');

/** True when apt can answer for `arch`: native, or foreign with its package lists downloaded. */
async function aptKnowsArch(arch: DebArch): Promise<boolean> {
  const native = (await run('dpkg', ['--print-architecture'], { step: 'dpkg --print-architecture' })).stdout
    .toString('utf8')
    .trim();
  const hasLists = (await readdir(LISTS_DIR).catch(() => [] as string[])).some((n) =>
    n.includes(`_binary-${arch}_Packages`),
  );
  if (native === arch) return hasLists;
  const foreign = (await run('dpkg', ['--print-foreign-architectures'])).stdout.toString('utf8').split(/\s+/);
  return foreign.includes(arch) && hasLists;
}

/** Finds `<pkg>_<version>_<arch|all>.deb` in `dir` (apt writes the epoch colon as `%3a`). */
async function findDeb(dir: string, pkg: string, debVersion: string): Promise<string | undefined> {
  const prefix = `${pkg}_${debVersion.replace(/:/g, '%3a')}_`;
  const names = await readdir(dir);
  const hit = names.find((n) => n.startsWith(prefix) && n.endsWith('.deb'));
  return hit === undefined ? undefined : path.join(dir, hit);
}
