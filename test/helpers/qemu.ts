/**
 * QEMU boot harness for tests (TCG only: KVM is unusable on this machine, toolchain.md §0).
 * Every boot captures the serial console into a string and a log file, and is killed on timeout
 * with an error that includes the serial tail. Command lines follow toolchain.md §3.
 */
import { CACHE_DIR } from './paths.js';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FactoryError } from '../../src/errors.js';

/** Where serial logs go unless a `logFile` is given. */
export const DEFAULT_QEMU_LOG_DIR = path.join(CACHE_DIR, 'qemu-logs');

/** Firmware kinds: SeaBIOS or OVMF (x86), AAVMF (arm64 UEFI). */
export type Firmware = 'bios' | 'uefi';

/**
 * Secure-boot modes for UEFI: `snakeoil` = OVMF with the Debian snakeoil key enrolled and secure
 * boot enforced; `setup` = secure-boot-capable OVMF with empty key stores (setup mode, so
 * systemd-boot can auto-enrol keys).
 */
export type SecureBootMode = 'off' | 'snakeoil' | 'setup';

/** Options common to every kind of boot. */
export interface BootCommon {
  firmware?: Firmware;
  secureBoot?: SecureBootMode;
  /** Hard limit; the VM is killed and the call rejects with BUILD_TIMEOUT when reached. */
  timeoutMs: number;
  /** Guest architecture (arm64 needs qemu-system-arm and, for UEFI, qemu-efi-aarch64). */
  arch?: 'amd64' | 'arm64';
  memoryMb?: number;
  /** Serial log file (default: a new file under {@link DEFAULT_QEMU_LOG_DIR}). */
  logFile?: string;
  /** Name used in the log file name and in errors. */
  name?: string;
  /** Stop the VM as soon as the serial output matches (resolves with `stoppedOnMatch`). */
  stopOn?: RegExp;
  /** Extra QEMU arguments appended at the end. */
  extraArgs?: string[];
  /**
   * x86 UEFI only: use this vars file in place instead of a fresh copy (the caller makes it, e.g.
   * with {@link copyUefiVars}, and keeps it across boots — enrolled keys survive a reboot).
   */
  uefiVars?: string;
  signal?: AbortSignal;
}

/** Result of a boot that ended before the timeout. */
export interface BootResult {
  /** Everything the guest wrote to its serial port (`\r` removed). */
  serial: string;
  exitCode: number | null;
  durationMs: number;
  logFile: string;
  /** The fixture init's power-off marker was seen and QEMU exited by itself with code 0. */
  poweredOff: boolean;
  /** The VM was stopped because `stopOn` matched. */
  stoppedOnMatch: boolean;
  /** The full argv used (for failure messages). */
  argv: string[];
}

/** Direct kernel boot. */
export interface KernelBoot extends BootCommon {
  kernel: string;
  initrd?: string;
  append?: string;
}

/** Boot from a disk image. */
export interface DiskBoot extends BootCommon {
  disk: string;
  /** QEMU block format (`raw`, `qcow2`, `vpc`, `vmdk`…); default from the file extension, else raw. */
  format?: string;
  /** Bus: virtio (default), ide (ahci on q35), nvme. */
  bus?: 'virtio' | 'ide' | 'nvme';
  /** Attach the image read-only via a throw-away overlay (snapshot=on), default true. */
  snapshot?: boolean;
  /** Logical and physical block size of a virtio disk (4096 for 4K-sector images); default 512. */
  blockSize?: number;
}

/** Boot from an ISO image (CD-ROM). */
export interface IsoBoot extends BootCommon {
  iso: string;
}

/** iPXE network boot from a loopback HTTP server. */
export interface PxeBoot extends BootCommon {
  /** URL or path the guest's iPXE fetches first; paths are prefixed with `http://10.0.2.100`. */
  bootUrl: string;
  /** Host TCP port (127.0.0.1) that guest traffic to 10.0.2.100:80 is forwarded to. */
  factoryPort: number;
}

/** The guest-visible address forwarded to the host port in {@link bootPxe}. */
export const PXE_GUEST_HOST = '10.0.2.100';

const OVMF_DIR = '/usr/share/OVMF';
const AAVMF_DIR = '/usr/share/AAVMF';
/** The host's static busybox (busybox-static) serves the guestfwd `nc` (toolchain.md §3). */
const HOST_BUSYBOX = '/bin/busybox';

interface Machine {
  argv: string[];
  cleanup: () => Promise<void>;
}

/** Machine, CPU, memory and firmware arguments; copies the UEFI vars file to a temp dir. */
async function machineArgs(o: BootCommon): Promise<Machine> {
  const arch = o.arch ?? 'amd64';
  const mem = String(o.memoryMb ?? 512);
  const sb = o.secureBoot ?? 'off';
  const common = ['-accel', 'tcg', '-m', mem, '-nographic', '-no-reboot'];
  if (arch === 'arm64') {
    const argv = ['qemu-system-aarch64', '-M', 'virt', '-cpu', 'max', ...common];
    if (o.firmware !== 'uefi') return { argv, cleanup: async () => undefined };
    if (sb !== 'off') throw new FactoryError('INTERNAL', 'qemu: secure boot is only wired for amd64 (OVMF)');
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'qemu-vars-'));
    const vars = path.join(tmp, 'vars.fd');
    await copyFile(path.join(AAVMF_DIR, 'AAVMF_VARS.fd'), vars);
    argv.push(
      '-drive',
      `if=pflash,format=raw,readonly=on,file=${path.join(AAVMF_DIR, 'AAVMF_CODE.fd')}`,
      '-drive',
      `if=pflash,format=raw,file=${vars}`,
    );
    return { argv, cleanup: () => rm(tmp, { recursive: true, force: true }) };
  }
  if (o.firmware !== 'uefi') {
    if (sb !== 'off') throw new FactoryError('INTERNAL', 'qemu: secureBoot needs firmware "uefi"');
    return { argv: ['qemu-system-x86_64', '-M', 'pc', ...common], cleanup: async () => undefined };
  }
  const [code, varsSrc] =
    sb === 'snakeoil'
      ? ['OVMF_CODE_4M.snakeoil.fd', 'OVMF_VARS_4M.snakeoil.fd']
      : sb === 'setup'
        ? ['OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.fd']
        : ['OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd'];
  let vars = o.uefiVars;
  let cleanup = async (): Promise<void> => undefined;
  if (vars === undefined) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'qemu-vars-'));
    vars = path.join(tmp, 'vars.fd');
    await copyFile(path.join(OVMF_DIR, varsSrc), vars);
    cleanup = () => rm(tmp, { recursive: true, force: true });
  }
  const argv = ['qemu-system-x86_64', '-M', sb === 'off' ? 'q35' : 'q35,smm=on', ...common];
  if (sb !== 'off') argv.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
  argv.push(
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${path.join(OVMF_DIR, code)}`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${vars}`,
  );
  return { argv, cleanup };
}

/** Copies the OVMF vars template of a secure-boot mode to `dest` (for {@link BootCommon.uefiVars}). */
export async function copyUefiVars(mode: SecureBootMode, dest: string): Promise<void> {
  const src = mode === 'snakeoil' ? 'OVMF_VARS_4M.snakeoil.fd' : 'OVMF_VARS_4M.fd';
  await copyFile(path.join(OVMF_DIR, src), dest);
}

/** Boots a kernel (+initrd) directly, like `qemu -kernel … -initrd … -append …`. */
export async function bootKernel(o: KernelBoot): Promise<BootResult> {
  const m = await machineArgs(o);
  m.argv.push('-nic', 'none', '-kernel', o.kernel);
  if (o.initrd !== undefined) m.argv.push('-initrd', o.initrd);
  if (o.append !== undefined) m.argv.push('-append', o.append);
  return runVm(m, o);
}

/** Boots a disk image (BIOS or UEFI) with no network. */
export async function bootDisk(o: DiskBoot): Promise<BootResult> {
  const m = await machineArgs(o);
  const ext = path.extname(o.disk).slice(1);
  const format = o.format ?? (['qcow2', 'vmdk', 'vhd'].includes(ext) ? (ext === 'vhd' ? 'vpc' : ext) : 'raw');
  const snap = (o.snapshot ?? true) ? ',snapshot=on' : '';
  const bus = o.bus ?? 'virtio';
  m.argv.push('-nic', 'none');
  if (bus === 'nvme') {
    m.argv.push(
      '-drive',
      `file=${o.disk},format=${format},if=none,id=d0${snap}`,
      '-device',
      'nvme,drive=d0,serial=fixture',
    );
  } else if (o.blockSize !== undefined && o.blockSize !== 512) {
    if (bus !== 'virtio') throw new FactoryError('INTERNAL', 'bootDisk: blockSize needs the virtio bus');
    m.argv.push(
      '-drive',
      `file=${o.disk},format=${format},if=none,id=d0${snap}`,
      '-device',
      `virtio-blk-pci,drive=d0,logical_block_size=${o.blockSize},physical_block_size=${o.blockSize}`,
    );
  } else {
    m.argv.push('-drive', `file=${o.disk},format=${format},if=${bus}${snap}`);
  }
  return runVm(m, o);
}

/** Boots an ISO from the CD-ROM drive with no network. */
export async function bootIso(o: IsoBoot): Promise<BootResult> {
  const m = await machineArgs(o);
  m.argv.push('-nic', 'none');
  if ((o.arch ?? 'amd64') === 'arm64') {
    m.argv.push(
      '-drive',
      `file=${o.iso},format=raw,if=none,id=cd0,media=cdrom,readonly=on`,
      '-device',
      'virtio-scsi-pci',
      '-device',
      'scsi-cd,drive=cd0',
    );
  } else {
    m.argv.push('-cdrom', o.iso, '-boot', 'd');
  }
  return runVm(m, o);
}

/**
 * Network-boots with the NIC's iPXE ROM: user-mode networking restricted to one forwarded address
 * (`10.0.2.100:80` → `127.0.0.1:<factoryPort>` through the host's static busybox `nc`), and DHCP
 * `bootfile` = `bootUrl`. Under UEFI the iPXE script's `kernel` line needs `initrd=<name>`.
 */
export async function bootPxe(o: PxeBoot): Promise<BootResult> {
  if (!existsSync(HOST_BUSYBOX))
    throw new FactoryError('INTERNAL', `bootPxe: ${HOST_BUSYBOX} (busybox-static) is missing`);
  const m = await machineArgs(o);
  const url = o.bootUrl.startsWith('/') ? `http://${PXE_GUEST_HOST}${o.bootUrl}` : o.bootUrl;
  if (url.includes(','))
    throw new FactoryError(
      'INTERNAL',
      `bootPxe: bootUrl "${url}" must not contain a comma (QEMU option syntax)`,
    );
  const fwd = `guestfwd=tcp:${PXE_GUEST_HOST}:80-cmd:${HOST_BUSYBOX} nc 127.0.0.1 ${o.factoryPort}`;
  m.argv.push('-boot', 'n', '-nic', `user,model=virtio-net-pci,restrict=on,${fwd},bootfile=${url}`);
  return runVm(m, o);
}

/** Last `n` lines of a serial log, for error messages. */
export function serialTail(serial: string, n = 40): string {
  return serial.split('\n').slice(-n).join('\n');
}

/** Spawns QEMU, tees serial to the log file, enforces the timeout and `stopOn`. */
async function runVm(m: Machine, o: BootCommon): Promise<BootResult> {
  if (o.extraArgs) m.argv.push(...o.extraArgs);
  const name = (o.name ?? 'boot').replace(/[^\w.-]+/g, '_');
  const logFile =
    o.logFile ??
    path.join(
      DEFAULT_QEMU_LOG_DIR,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${name}-${process.pid}.log`,
    );
  await mkdir(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  log.write(`# ${m.argv.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  const [cmd, ...args] = m.argv;
  const started = Date.now();
  try {
    return await new Promise<BootResult>((resolve, reject) => {
      const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let serial = '';
      let stderr = '';
      let timedOut = false;
      let matched = false;
      const kill = (): void => {
        child.kill('SIGKILL');
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeoutMs);
      const onAbort = (): void => kill();
      o.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (b: Buffer) => {
        log.write(b);
        serial += b.toString('utf8').replace(/\r/g, '');
        if (o.stopOn && !matched && o.stopOn.test(serial)) {
          matched = true;
          kill();
        }
      });
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString('utf8');
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(
          new FactoryError('BUILD_FAILED', `qemu (${name}): cannot start ${cmd}: ${e.message}`, { cause: e }),
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        const durationMs = Date.now() - started;
        if (timedOut) {
          reject(
            new FactoryError(
              'BUILD_TIMEOUT',
              `qemu (${name}) did not finish within ${o.timeoutMs} ms (log ${logFile}); serial tail:\n${serialTail(serial)}`,
            ),
          );
          return;
        }
        if (!matched && code !== 0) {
          reject(
            new FactoryError(
              'BUILD_FAILED',
              `qemu (${name}) exited with code ${code}: ${stderr.trim().slice(-1000)} (log ${logFile}); serial tail:\n${serialTail(serial)}`,
            ),
          );
          return;
        }
        resolve({
          serial,
          exitCode: code,
          durationMs,
          logFile,
          poweredOff: !matched && code === 0 && serial.includes('IFREPORT-POWEROFF'),
          stoppedOnMatch: matched,
          argv: m.argv,
        });
      });
    });
  } finally {
    await new Promise<void>((r) => log.end(r));
    await m.cleanup();
  }
}
