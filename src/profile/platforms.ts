/**
 * THE platform table: every `talos.platform` name the HEAD imager accepts, with its kernel args
 * (talos-imager §3.4 HEAD, arch-aware; errata §1: not version-gated except metal ttyS0 and AWS
 * nvme), the UI facts of Talos' `platforms` package (image-factory §3.3: archs, default disk
 * suffix, boot methods, secure-boot support, minimum version) and the disk size / format options
 * of Talos' built-in profile of the same name (HEAD `profile.Default`).
 */
import type { Arch, DiskFormat } from './asset-request.js';
import { gateOpen, type QuirkGated, type QuirkValues } from './quirks.js';

/** How a platform is booted (Talos `platforms.BootMethod`). */
export type BootMethod = 'iso' | 'disk-image' | 'pxe';

/** One group of kernel args, optionally only for one arch and/or behind a quirk. */
export interface KernelArgRow extends QuirkGated {
  readonly args: string;
  readonly arch?: Arch;
}

/** Built-in imager profile facts used when a disk image is requested for this platform. */
export interface BuiltinImageProfile {
  readonly diskSizeMiB: number;
  /** Overrides the path-derived qemu-img options when set (e.g. azure's `subformat=fixed,force_size`). */
  readonly formatOptions?: string;
  /** Disk format and compression of the built-in profile (informational; the path decides). */
  readonly diskFormat: DiskFormat;
}

/** One platform. */
export interface PlatformSpec {
  /** Name as used in paths and profiles. */
  readonly name: string;
  /** Value written as `talos.platform=` (differs only for the `packet` alias). */
  readonly talosName: string;
  readonly label: string;
  /** Listed by Talos' `platforms` package (offered in the UI); false for container/alias entries. */
  readonly listed: boolean;
  readonly architectures: readonly Arch[];
  /** First Talos version offering the platform in the UI (not enforced by the imager). */
  readonly minVersion?: string;
  /** UI default disk-image path suffix, e.g. `raw.zst`. */
  readonly diskImageSuffix?: string;
  readonly bootMethods: readonly BootMethod[];
  readonly secureBoot: boolean;
  /** Built-in profile; absent → default disk size, path-derived options. */
  readonly builtin?: BuiltinImageProfile;
  readonly kernelArgs: readonly KernelArgRow[];
}

/** Disk size when the platform has no built-in profile (Talos `DefaultRAWDiskSize`). */
export const DEFAULT_DISK_SIZE_MIB = 8192;
/** Talos `MinRAWDiskSize`, used by metal and several small-image platforms. */
export const MIN_DISK_SIZE_MIB = 1246;

const BOTH: readonly Arch[] = ['amd64', 'arm64'];
const AMD64: readonly Arch[] = ['amd64'];
const TTY1_TTYS0 = 'console=tty1 console=ttyS0 net.ifnames=0';

const raw = (diskSizeMiB: number): BuiltinImageProfile => ({ diskSizeMiB, diskFormat: 'raw' });

/** Every platform, in Talos' listing order (metal first), then the unlisted names. */
export const PLATFORMS: readonly PlatformSpec[] = [
  {
    name: 'metal',
    talosName: 'metal',
    label: 'Bare Metal',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'raw.zst',
    bootMethods: ['iso', 'disk-image', 'pxe'],
    secureBoot: true,
    builtin: raw(MIN_DISK_SIZE_MIB),
    kernelArgs: [
      { arch: 'amd64', when: 'metalConsoleTTYS0', args: 'console=ttyS0 console=tty0' },
      { arch: 'amd64', unless: 'metalConsoleTTYS0', args: 'console=tty0' },
      { arch: 'arm64', args: 'console=ttyAMA0 console=tty0' },
    ],
  },
  {
    name: 'aws',
    talosName: 'aws',
    label: 'Amazon Web Services (AWS)',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'raw.xz',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: raw(DEFAULT_DISK_SIZE_MIB),
    kernelArgs: [
      { args: TTY1_TTYS0 },
      { when: 'nvmeIoTimeoutAWSOnly', args: 'nvme_core.io_timeout=4294967295' },
    ],
  },
  {
    name: 'gcp',
    talosName: 'gcp',
    label: 'Google Cloud (GCP)',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'raw.tar.gz',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: raw(DEFAULT_DISK_SIZE_MIB),
    kernelArgs: [
      { args: 'console=ttyS0 net.ifnames=0 talos.dashboard.disabled=1 sysctl.kernel.kexec_load_disabled=1' },
    ],
  },
  {
    name: 'equinixMetal',
    talosName: 'equinixMetal',
    label: 'Equinix Metal',
    listed: true,
    architectures: BOTH,
    bootMethods: ['pxe'],
    secureBoot: false,
    kernelArgs: [
      { arch: 'amd64', args: 'console=ttyS1,115200n8' },
      { arch: 'arm64', args: 'console=ttyAMA0,115200' },
    ],
  },
  {
    name: 'azure',
    talosName: 'azure',
    label: 'Microsoft Azure',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'vhd.xz',
    bootMethods: ['disk-image'],
    secureBoot: true,
    builtin: {
      diskSizeMiB: DEFAULT_DISK_SIZE_MIB,
      diskFormat: 'vhd',
      formatOptions: 'subformat=fixed,force_size',
    },
    kernelArgs: [
      {
        args: 'console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300 net.ifnames=0 talos.dashboard.disabled=1 sysctl.kernel.kexec_load_disabled=1',
      },
    ],
  },
  {
    name: 'digital-ocean',
    talosName: 'digital-ocean',
    label: 'Digital Ocean',
    listed: true,
    architectures: AMD64,
    diskImageSuffix: 'raw.gz',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: raw(DEFAULT_DISK_SIZE_MIB),
    kernelArgs: [{ args: 'console=ttyS0 console=tty0 console=tty1 net.ifnames=0' }],
  },
  {
    name: 'nocloud',
    talosName: 'nocloud',
    label: 'Nocloud',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'raw.xz',
    bootMethods: ['disk-image', 'iso', 'pxe'],
    secureBoot: true,
    builtin: raw(MIN_DISK_SIZE_MIB),
    kernelArgs: [{ args: TTY1_TTYS0 }],
  },
  {
    name: 'openstack',
    talosName: 'openstack',
    label: 'OpenStack',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'raw.xz',
    bootMethods: ['disk-image', 'iso', 'pxe'],
    secureBoot: false,
    builtin: raw(MIN_DISK_SIZE_MIB),
    kernelArgs: [{ args: TTY1_TTYS0 }],
  },
  {
    name: 'vmware',
    talosName: 'vmware',
    label: 'VMWare',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'ova',
    bootMethods: ['disk-image', 'iso'],
    secureBoot: false,
    builtin: { diskSizeMiB: DEFAULT_DISK_SIZE_MIB, diskFormat: 'ova' },
    kernelArgs: [
      {
        arch: 'amd64',
        args: 'talos.config=guestinfo console=tty0 console=ttyS0 earlyprintk=ttyS0,115200 net.ifnames=0',
      },
      { arch: 'arm64', args: 'talos.config=guestinfo console=tty0 console=ttyAMA0 net.ifnames=0' },
    ],
  },
  {
    name: 'akamai',
    talosName: 'akamai',
    label: 'Akamai',
    listed: true,
    architectures: AMD64,
    minVersion: '1.7.0',
    diskImageSuffix: 'raw.gz',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: raw(MIN_DISK_SIZE_MIB),
    kernelArgs: [{ args: 'console=ttyS0 console=tty0 console=tty1 net.ifnames=0' }],
  },
  {
    name: 'cloudstack',
    talosName: 'cloudstack',
    label: 'Apache CloudStack',
    listed: true,
    architectures: BOTH,
    minVersion: '1.8.0-alpha.2',
    diskImageSuffix: 'raw.gz',
    bootMethods: ['disk-image'],
    secureBoot: true,
    builtin: raw(DEFAULT_DISK_SIZE_MIB),
    kernelArgs: [{ args: TTY1_TTYS0 }],
  },
  {
    name: 'hcloud',
    talosName: 'hcloud',
    label: 'Hetzner',
    listed: true,
    architectures: AMD64,
    diskImageSuffix: 'raw.xz',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: raw(MIN_DISK_SIZE_MIB),
    kernelArgs: [{ args: TTY1_TTYS0 }],
  },
  {
    name: 'oracle',
    talosName: 'oracle',
    label: 'Oracle Cloud',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'qcow2',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: { diskSizeMiB: DEFAULT_DISK_SIZE_MIB, diskFormat: 'qcow2', formatOptions: 'cluster_size=8k' },
    kernelArgs: [{ args: `${TTY1_TTYS0} talos.dashboard.disabled=1` }],
  },
  {
    name: 'upcloud',
    talosName: 'upcloud',
    label: 'UpCloud',
    listed: true,
    architectures: AMD64,
    diskImageSuffix: 'raw.xz',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: raw(DEFAULT_DISK_SIZE_MIB),
    kernelArgs: [{ args: 'net.ifnames=0' }],
  },
  {
    name: 'vultr',
    talosName: 'vultr',
    label: 'Vultr',
    listed: true,
    architectures: AMD64,
    bootMethods: ['iso', 'pxe'],
    secureBoot: false,
    builtin: raw(DEFAULT_DISK_SIZE_MIB),
    kernelArgs: [{ args: 'net.ifnames=0' }],
  },
  {
    name: 'exoscale',
    talosName: 'exoscale',
    label: 'Exoscale',
    listed: true,
    architectures: BOTH,
    minVersion: '1.3.0',
    diskImageSuffix: 'qcow2',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: { diskSizeMiB: 10240, diskFormat: 'qcow2', formatOptions: 'cluster_size=8k' },
    kernelArgs: [{ args: TTY1_TTYS0 }],
  },
  {
    name: 'opennebula',
    talosName: 'opennebula',
    label: 'OpenNebula',
    listed: true,
    architectures: BOTH,
    minVersion: '1.7.0',
    diskImageSuffix: 'raw.zst',
    bootMethods: ['disk-image', 'iso'],
    secureBoot: false,
    builtin: raw(MIN_DISK_SIZE_MIB),
    kernelArgs: [{ args: TTY1_TTYS0 }],
  },
  {
    name: 'scaleway',
    talosName: 'scaleway',
    label: 'Scaleway',
    listed: true,
    architectures: BOTH,
    diskImageSuffix: 'raw.zst',
    bootMethods: ['disk-image', 'iso'],
    secureBoot: false,
    builtin: raw(MIN_DISK_SIZE_MIB),
    kernelArgs: [{ args: `${TTY1_TTYS0} talos.dashboard.disabled=1` }],
  },
  {
    // Listed by Talos machinery ≥ 1.14 (newer than the copy image-factory §3.3 was written from).
    name: 'alibabacloud',
    talosName: 'alibabacloud',
    label: 'AlibabaCloud',
    listed: true,
    architectures: BOTH,
    minVersion: '1.14.0-beta.2',
    diskImageSuffix: 'qcow2',
    bootMethods: ['disk-image'],
    secureBoot: false,
    builtin: { diskSizeMiB: MIN_DISK_SIZE_MIB, diskFormat: 'qcow2', formatOptions: 'cluster_size=8k' },
    kernelArgs: [{ args: TTY1_TTYS0 }],
  },
  {
    // Accepted by the imager (`--platform packet`): file names keep `packet`, the cmdline says equinixMetal.
    name: 'packet',
    talosName: 'equinixMetal',
    label: 'Equinix Metal (legacy name)',
    listed: false,
    architectures: BOTH,
    bootMethods: ['pxe'],
    secureBoot: false,
    kernelArgs: [
      { arch: 'amd64', args: 'console=ttyS1,115200n8' },
      { arch: 'arm64', args: 'console=ttyAMA0,115200' },
    ],
  },
  {
    name: 'container',
    talosName: 'container',
    label: 'Container',
    listed: false,
    architectures: BOTH,
    bootMethods: [],
    secureBoot: false,
    kernelArgs: [],
  },
];

/** Looks a platform up by its path name (exact, case-sensitive like upstream). */
export function findPlatform(name: string): PlatformSpec | undefined {
  return PLATFORMS.find((p) => p.name === name);
}

/** All accepted platform names, sorted, for error messages. */
export function platformNames(): string[] {
  return PLATFORMS.map((p) => p.name).sort((a, b) => a.localeCompare(b, 'en'));
}

/** The platform's kernel args for an arch and target version, as a space-separated string. */
export function platformKernelArgs(platform: PlatformSpec, arch: Arch, quirks: QuirkValues): string {
  return platform.kernelArgs
    .filter((row) => (row.arch === undefined || row.arch === arch) && gateOpen(row, quirks))
    .map((row) => row.args)
    .join(' ');
}

/** Disk size and format options for a disk image of `platform` (image-factory §3.1 rule 8 step 5). */
export function diskImageDefaults(
  platform: PlatformSpec | undefined,
  pathFormatOptions: string,
): { diskSizeMiB: number; formatOptions: string } {
  const builtin = platform?.builtin;
  return {
    diskSizeMiB: builtin?.diskSizeMiB ?? DEFAULT_DISK_SIZE_MIB,
    formatOptions: builtin?.formatOptions ? builtin.formatOptions : pathFormatOptions,
  };
}
