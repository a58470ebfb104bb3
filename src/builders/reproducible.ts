/**
 * The fixed build time of every asset whose format records times (ISO, FAT, XFS, tar): Talos'
 * imager process sets SOURCE_DATE_EPOCH to this value, so our timestamps match theirs, and two
 * builds of the same request give the same bytes.
 */

/** Seconds since the epoch: 2019-06-01T21:34:52Z, upstream's SOURCE_DATE_EPOCH. */
export const BUILD_EPOCH = 1559424892;

/** `YYYYMMDDhhmmss00` in UTC (xorriso's `-volume_date uuid` format). */
export function volumeDateUuid(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
}

/**
 * The native xorriso commands (after `--`) that make an ISO the same bytes every time: every file
 * date and the volume dates at `epoch`, the GPT disk GUID derived from them, and the volume IDs
 * when the Talos version sets them. grub-mkrescue and our xorriso call both end with these.
 */
export function reproducibleXorrisoArgs(
  epoch: number,
  volume: { readonly id: string; readonly setId: string } | undefined,
): string[] {
  const args = [
    '--',
    '-volume_date',
    'all_file_dates',
    `=${epoch}`,
    '-volume_date',
    'uuid',
    volumeDateUuid(epoch),
  ];
  args.push('-boot_image', 'any', 'gpt_disk_guid=volume_date_uuid');
  if (volume) args.push('-volid', volume.id, '-volset_id', volume.setId);
  return args;
}
