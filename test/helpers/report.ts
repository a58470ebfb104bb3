/**
 * Parses the fixture init's boot report (test/fixtures/assets/init): TAB-separated lines between
 * `IFREPORT-BEGIN` and `IFREPORT-END` on the serial console.
 */
import { FactoryError } from '../../src/errors.js';

/** A file found inside a mounted extension squashfs (path relative to the layer root, leading `/`). */
export interface ReportFile {
  path: string;
  size: number;
}

/** A symlink found inside a layer. */
export interface ReportLink {
  path: string;
  target: string;
}

/** One `extensions.yaml` layer, in file order. */
export interface ReportLayer {
  index: number;
  image: string;
  name: string;
  version: string;
  /** `mounted`, `missing` (no such file in the initramfs) or `mount-failed`. */
  state: string;
  files: ReportFile[];
  links: ReportLink[];
}

/** A microcode or firmware file found in the initramfs. */
export interface ReportBlob {
  path: string;
  size: number;
  sha256: string;
}

/** Result of modprobe-ing one module found in an extension layer. */
export interface ReportModule {
  name: string;
  exitCode: number;
  loaded: boolean;
  output: string;
}

/** Everything the fixture init reported. */
export interface BootReport {
  arch: string;
  kver: string;
  cmdline: string;
  /** `ok`, `missing` or `mount-failed`. */
  rootfs: string;
  /** `lib/modules` or `usr/lib/modules` (as found in the base rootfs). */
  modulesRoot: string;
  /** Kernel-version dirs in the base rootfs module tree. */
  baseKvers: string[];
  /** Top-level initramfs entries other than the init's own (e.g. `extensions.yaml`, `0.sqsh`, `kernel`). */
  rootEntries: string[];
  /** `*.sqsh` files at the initramfs root with sizes. */
  sqsh: { name: string; size: number }[];
  extensionsYaml: boolean;
  layers: ReportLayer[];
  microcode: ReportBlob[];
  firmware: ReportBlob[];
  microcodeLinks: ReportLink[];
  firmwareLinks: ReportLink[];
  /** Index of the layer holding `<modules-root>/<kver>/modules.dep`, if any. */
  moddepLayer?: number;
  /** modules.dep lines (from that layer) that mention `extras/`. */
  moddepLines: string[];
  modules: ReportModule[];
  /** `/proc/modules` names after all modprobes. */
  loadedModules: string[];
  /** `/usr/local/share/schematic/*` names. */
  schematicMarkers: string[];
  /** `/usr/local/share/flavor/*` names. */
  flavorMarkers: string[];
  errors: string[];
  /** The power-off marker followed the report. */
  poweroff: boolean;
}

/** Parses the last complete report in `serial`; throws BUILD_FAILED naming what is missing, with the serial tail. */
export function parseReport(serial: string): BootReport {
  const text = serial.replace(/\r/g, '');
  const end = text.lastIndexOf('\nIFREPORT-END');
  const begin = end < 0 ? -1 : text.lastIndexOf('IFREPORT-BEGIN', end);
  if (begin < 0 || end < 0) {
    const tail = text.split('\n').slice(-30).join('\n');
    throw new FactoryError(
      'BUILD_FAILED',
      `boot report: no IFREPORT-BEGIN…IFREPORT-END block on the serial console; tail:\n${tail}`,
    );
  }
  const r: BootReport = {
    arch: '',
    kver: '',
    cmdline: '',
    rootfs: '',
    modulesRoot: '',
    baseKvers: [],
    rootEntries: [],
    sqsh: [],
    extensionsYaml: false,
    layers: [],
    microcode: [],
    firmware: [],
    microcodeLinks: [],
    firmwareLinks: [],
    moddepLines: [],
    modules: [],
    loadedModules: [],
    schematicMarkers: [],
    flavorMarkers: [],
    errors: [],
    poweroff: text.slice(end).includes('IFREPORT-POWEROFF'),
  };
  const body = text.slice(text.indexOf('\n', begin) + 1, end).split('\n');
  const layer = (i: string, what: string): ReportLayer => {
    const l = r.layers.find((x) => x.index === Number(i));
    if (!l) throw new FactoryError('BUILD_FAILED', `boot report: ${what} line for unknown layer ${i}`);
    return l;
  };
  for (const line of body) {
    if (line === '') continue;
    const f = line.split('\t');
    const [key, a = '', b = '', c = '', d = '', e = ''] = f;
    switch (key) {
      case 'arch':
        r.arch = a;
        break;
      case 'kver':
        r.kver = a;
        break;
      case 'cmdline':
        r.cmdline = f.slice(1).join('\t');
        break;
      case 'rootfs':
        r.rootfs = a;
        break;
      case 'modroot':
        r.modulesRoot = a;
        break;
      case 'base-kver':
        r.baseKvers.push(a);
        break;
      case 'rootentry':
        r.rootEntries.push(a);
        break;
      case 'sqsh':
        r.sqsh.push({ name: a, size: Number(b) });
        break;
      case 'yaml':
        r.extensionsYaml = a === 'present';
        break;
      case 'layer':
        r.layers.push({ index: Number(a), image: b, name: c, version: d, state: e, files: [], links: [] });
        break;
      case 'file':
        layer(a, 'file').files.push({ size: Number(b), path: c });
        break;
      case 'link':
        layer(a, 'link').links.push({ target: b, path: c });
        break;
      case 'layers':
        break;
      case 'microcode':
      case 'firmware':
        (key === 'microcode' ? r.microcode : r.firmware).push({ size: Number(a), sha256: b, path: c });
        break;
      case 'microcode-link':
      case 'firmware-link':
        (key === 'microcode-link' ? r.microcodeLinks : r.firmwareLinks).push({ target: a, path: b });
        break;
      case 'moddep-layer':
        r.moddepLayer = Number(a);
        break;
      case 'moddep':
        r.moddepLines.push(f.slice(1).join('\t'));
        break;
      case 'module':
        r.modules.push({ name: a, exitCode: Number(b), loaded: c === 'yes', output: d.trim() });
        break;
      case 'loaded':
        r.loadedModules.push(a);
        break;
      case 'marker':
        (a === 'schematic' ? r.schematicMarkers : r.flavorMarkers).push(b);
        break;
      case 'error':
        r.errors.push(f.slice(1).join('\t'));
        break;
      default:
        // Kernel messages can interleave with the report when the UART is also a console; ignore them.
        break;
    }
  }
  return r;
}
