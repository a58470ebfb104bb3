/**
 * Where a file's data is: `xfs_io -r -c "seek -a -r 0"` lists every DATA/HOLE boundary
 * (SEEK_DATA/SEEK_HOLE, which Node does not expose; xfs_io's generic commands work on any file
 * system). Lets the disk assembler read only allocated ranges instead of gigabytes of holes.
 */
import { stat } from 'node:fs/promises';
import { type ToolOptions, runTool } from './run.js';

/** A byte range `[start, end)`. */
export interface Extent {
  start: number;
  end: number;
}

/** Parses `seek -a -r` output into data extents of a file of `size` bytes. */
export function parseSeekOutput(text: string, size: number): Extent[] {
  const marks: { kind: 'DATA' | 'HOLE'; at: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(DATA|HOLE)\s+(\d+|EOF)\s*$/.exec(line.trim());
    if (m === null) continue;
    marks.push({ kind: m[1] as 'DATA' | 'HOLE', at: m[2] === 'EOF' ? size : Number(m[2]) });
  }
  const out: Extent[] = [];
  for (let i = 0; i < marks.length; i++) {
    const mark = marks[i]!;
    if (mark.kind !== 'DATA') continue;
    const end = Math.min(marks[i + 1]?.at ?? size, size);
    if (end > mark.at) out.push({ start: mark.at, end });
  }
  return out;
}

/** The data extents of `path` (the whole file when the tool's answer cannot be read). */
export async function dataExtents(path: string, o: ToolOptions): Promise<Extent[]> {
  const { size } = await stat(path);
  const text = (
    await runTool(o.command ?? 'xfs_io', ['-r', '-c', 'seek -a -r 0', path], { ...o, stdout: 'capture' })
  ).toString('utf8');
  if (!/^Whence\s+Result/m.test(text)) return [{ start: 0, end: size }];
  return parseSeekOutput(text, size);
}
