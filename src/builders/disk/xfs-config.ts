/**
 * The mkfs.xfs feature configs Talos formats BOOT with, per target version (quirk
 * `xfsMkfsConfig`: `lts_6.1.conf` < 1.8, `lts_6.6.conf` 1.8–1.9, `lts_6.12.conf` 1.10–1.12,
 * `lts_6.18.conf` ≥ 1.13), as data we write ourselves instead of `-c options=<name>`:
 *
 * - Debian 12's xfsprogs (6.1.0) ships only `lts_4.19` … `lts_6.1`, and its own `lts_6.1.conf`
 *   does not load (`nrext64=0` under `[metadata]`: "invalid config file option"). `-c options=`
 *   also needs a full path there (a bare name fails: "Unable to open config file").
 * - Upstream `lts_6.6.conf` turns on rmapbt and nrext64; `lts_6.12.conf` adds `autofsck=0`,
 *   `exchange=0`, `parent=0`, which are off anyway in xfsprogs 6.1 (it does not know them), so the
 *   6.6 and 6.12 feature sets are identical here.
 * - `lts_6.18.conf` is not in any source we could read; the closest known set (6.12) is used.
 *   Features newer than xfsprogs 6.1 cannot be turned on by this mkfs in any case.
 *
 * Every set keeps bigtime and CRCs; Debian's GRUB 2.06 reads all of them (checked with
 * `grub-fstest` and by booting).
 */

/** `section → option → value` of one config file. */
export type XfsConfig = Readonly<Record<string, Readonly<Record<string, string>>>>;

const LTS_6_1: XfsConfig = {
  metadata: { bigtime: '1', crc: '1', finobt: '1', inobtcount: '1', reflink: '1', rmapbt: '0' },
  inode: { sparse: '1', nrext64: '0' },
};

const LTS_6_6: XfsConfig = {
  metadata: { bigtime: '1', crc: '1', finobt: '1', inobtcount: '1', reflink: '1', rmapbt: '1' },
  inode: { sparse: '1', nrext64: '1' },
};

/** Config name (as the quirk names it) → features. */
export const XFS_CONFIGS: Readonly<Record<string, XfsConfig>> = {
  'lts_6.1.conf': LTS_6_1,
  'lts_6.6.conf': LTS_6_6,
  'lts_6.12.conf': LTS_6_6,
  'lts_6.18.conf': LTS_6_6,
};

/** The config text for `name` (throws for a name the table does not know). */
export function xfsConfigText(name: string): string {
  const cfg = XFS_CONFIGS[name];
  if (cfg === undefined) throw new RangeError(`xfs: no feature set for ${name}`);
  const out = [`# ${name} feature set as written by image-factory (see src/builders/disk/xfs-config.ts)`];
  for (const [section, options] of Object.entries(cfg)) {
    out.push('', `[${section}]`);
    for (const [k, v] of Object.entries(options)) out.push(`${k}=${v}`);
  }
  return `${out.join('\n')}\n`;
}
