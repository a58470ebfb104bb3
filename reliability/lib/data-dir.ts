/**
 * Looking at a factory's data dir from outside: leftovers a crash may leave (work dirs of dead
 * processes, temp files, partial downloads), and every stored entry checked against its own
 * record — an asset blob against its key record and name, a release blob against its digest, the
 * extracted release inputs against their sums, a schematic against its ID. "Poisoned" = an entry
 * whose bytes are not what its name or record says.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ownerAlive } from '../../src/util/process-lock.js';

const TEMP = /\.tmp-|\.part$|\.tmp$/;

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Leftovers in `dataDir`: work dirs of processes that do not run, and temp/partial files anywhere
 * (paths relative to `dataDir`). `busy` work dirs (a live process's) are looked into for temp
 * files only when `quiet` (no build running, so nothing should be in flight).
 */
export async function leftovers(dataDir: string, options: { quiet?: boolean } = {}): Promise<string[]> {
  const found: string[] = [];
  for (const name of await list(join(dataDir, 'work'))) {
    if (!ownerAlive(name)) found.push(`work/${name}`);
    else if (options.quiet) {
      for (const inner of await list(join(dataDir, 'work', name)))
        if (inner !== 'owner.json' && inner !== 'intermediates') found.push(`work/${name}/${inner}`);
    }
  }
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
      if (depth === 1 && (e.name === 'work' || e.name.startsWith('demo-'))) continue;
      if (TEMP.test(e.name)) found.push(relPath);
      else if (e.isDirectory() && depth < 6) await walk(join(dir, e.name), relPath, depth + 1);
    }
  };
  await walk(dataDir, '', 1);
  return found;
}

/** What {@link verifyEntries} found. */
export interface EntryCheck {
  /** Entries checked (asset keys, release blobs, release inputs, schematics). */
  checked: number;
  /** Entries whose bytes are not what their name or record says (`what: why`). */
  poisoned: string[];
}

/** Checks every entry of the filesystem stores in `dataDir`. */
export async function verifyEntries(dataDir: string): Promise<EntryCheck> {
  const result: EntryCheck = { checked: 0, poisoned: [] };
  const bad = (what: string, why: string): void => void result.poisoned.push(`${what}: ${why}`);
  const hashes = new Map<string, string>();
  const hashOf = async (path: string): Promise<string> => {
    let h = hashes.get(path);
    if (h === undefined) hashes.set(path, (h = await sha256File(path)));
    return h;
  };

  // Asset cache: keys/<xx>/<key>.json → blobs/<sha256>.
  const assets = join(dataDir, 'assets');
  for (const shard of await list(join(assets, 'keys'))) {
    for (const file of await list(join(assets, 'keys', shard))) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue;
      result.checked++;
      const what = `asset key ${file.slice(0, 12)}…`;
      let rec: { sha256?: string; size?: number };
      try {
        rec = JSON.parse(await readFile(join(assets, 'keys', shard, file), 'utf8')) as typeof rec;
      } catch {
        bad(what, 'record does not parse');
        continue;
      }
      const blob = join(assets, 'blobs', String(rec.sha256));
      const st = await stat(blob).catch(() => undefined);
      // A record whose blob is gone is a miss (the cache drops it), not poison.
      if (!st) continue;
      if (st.size !== rec.size) bad(what, `blob is ${st.size} bytes, record says ${rec.size}`);
      else if ((await hashOf(blob)) !== rec.sha256) bad(what, 'blob bytes do not hash to the record');
    }
  }
  for (const name of await list(join(assets, 'blobs'))) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    result.checked++;
    if ((await hashOf(join(assets, 'blobs', name))) !== name)
      bad(`asset blob ${name.slice(0, 12)}…`, 'bytes ≠ name');
  }

  // Release cache: blobs by digest, extracted inputs with their sums.
  const blobs = join(dataDir, 'cache', 'blobs', 'sha256');
  for (const name of await list(blobs)) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    result.checked++;
    if ((await sha256File(join(blobs, name))) !== name)
      bad(`release blob ${name.slice(0, 12)}…`, 'bytes ≠ digest');
  }
  const artifacts = join(dataDir, 'cache', 'artifacts');
  for (const digest of await list(artifacts)) {
    for (const arch of await list(join(artifacts, digest))) {
      const dir = join(artifacts, digest, arch);
      const meta = await readFile(join(dir, 'inputs.json'), 'utf8').catch(() => undefined);
      if (meta === undefined) continue;
      result.checked++;
      const sums = (JSON.parse(meta) as { sha256?: Record<string, string> }).sha256 ?? {};
      for (const [file, sum] of Object.entries(sums)) {
        const actual = await sha256File(join(dir, file)).catch(() => 'missing');
        if (actual !== sum) bad(`release input ${digest.slice(7, 19)}…/${arch}/${file}`, `sha256 ${actual}`);
      }
    }
  }

  // Schematics: <xx>/<id>.yaml hashes to its ID.
  const schematics = join(dataDir, 'schematics');
  for (const shard of await list(schematics)) {
    for (const file of await list(join(schematics, shard))) {
      const m = /^([a-f0-9]{64})\.yaml$/.exec(file);
      if (!m) continue;
      result.checked++;
      if ((await sha256File(join(schematics, shard, file))) !== m[1])
        bad(`schematic ${file.slice(0, 12)}…`, 'bytes ≠ ID');
    }
  }
  return result;
}
