/**
 * Reads a downloaded disk image the way an operator would check it: the partition table with
 * util-linux (`sfdisk --json`, an independent GPT reader), and the META partition's Talos ADV with
 * the project's decoder (the fixture init cannot show META: it never reads the disk).
 */
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ADV_BYTES, decodeTalosAdv } from '../../src/builders/formats/talos-adv.js';

const exec = promisify(execFile);

/** One GPT entry as sfdisk prints it (`start`/`size` in sectors). */
export interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid: string;
  name: string;
  attrs?: string;
}

/** The table as sfdisk prints it. */
export interface SfdiskTable {
  label: string;
  id: string;
  sectorsize: number;
  firstlba: number;
  lastlba: number;
  partitions: SfdiskPartition[];
}

/**
 * The GPT of an image file: `sfdisk --json` for 512-byte sectors; util-linux 2.38's sfdisk cannot
 * be told another sector size for a plain file, so 4096-byte images are read with
 * `partx --sector-size 4096` (same library, libfdisk/libblkid) and returned in sfdisk's shape.
 */
export async function sfdiskJson(image: string, sectorSize = 512): Promise<SfdiskTable> {
  if (sectorSize === 512) {
    const { stdout } = await exec('sfdisk', ['--json', image]);
    return (JSON.parse(stdout) as { partitiontable: SfdiskTable }).partitiontable;
  }
  const { stdout } = await exec('partx', [
    '--pairs',
    '--sector-size',
    String(sectorSize),
    '-o',
    'NR,START,SECTORS,NAME,TYPE,UUID',
    image,
  ]);
  const partitions = stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const f = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return {
        node: `${image}${f['NR']}`,
        // libblkid counts in 512-byte units whatever the table's sector size.
        start: (Number(f['START']) * 512) / sectorSize,
        size: (Number(f['SECTORS']) * 512) / sectorSize,
        type: (f['TYPE'] ?? '').toUpperCase(),
        uuid: (f['UUID'] ?? '').toUpperCase(),
        name: f['NAME'] ?? '',
      };
    });
  return {
    label: partitions.length > 0 ? 'gpt' : '',
    id: '',
    sectorsize: sectorSize,
    firstlba: 0,
    lastlba: 0,
    partitions,
  };
}

/** The records of the Talos ADV at the start of the partition labelled META, as `[key, text]`. */
export async function readMetaValues(image: string, sectorSize = 512): Promise<[number, string][]> {
  const table = await sfdiskJson(image, sectorSize);
  const meta = table.partitions.find((p) => p.name === 'META');
  if (!meta)
    throw new Error(`${image}: no META partition (${table.partitions.map((p) => p.name).join(', ')})`);
  const fh = await open(image, 'r');
  try {
    const buf = Buffer.alloc(ADV_BYTES);
    await fh.read(buf, 0, ADV_BYTES, meta.start * sectorSize);
    return decodeTalosAdv(buf).records.map((r) => [r.tag, r.value.toString('utf8')]);
  } finally {
    await fh.close();
  }
}

/** Partition sizes in MiB, by label, in table order. */
export function partitionMiB(table: SfdiskTable): [string, number][] {
  return table.partitions.map((p) => [p.name, (p.size * table.sectorsize) / (1024 * 1024)]);
}
