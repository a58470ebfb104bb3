/** `mkdir -p` the way Go's `os.MkdirAll` does it in the imager. */
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** mkdir -p where every created directory gets `mode` (umask 022 applied), as Go's MkdirAll does. */
export async function mkdirLike(path: string, mode: number): Promise<void> {
  const missing: string[] = [];
  let cur = path;
  while (
    !(await lstat(cur).then(
      () => true,
      () => false,
    ))
  ) {
    missing.unshift(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const d of missing) {
    await mkdir(d);
    await chmod(d, mode & 0o777 & ~0o022);
  }
}
