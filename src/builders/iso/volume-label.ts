/** ISO volume identifiers (talos-imager §4.3, Talos ≥ 1.8): label `Talos-<version>`. */

/** The volume set ID / label: `Talos-<version tag>`. */
export function isoVolumeLabel(versionTag: string): string {
  return `Talos-${versionTag}`;
}

/** The ISO 9660 volume ID: the label upper-cased, `-`/`.`/`_` → `_`, other non-`A–Z0–9` dropped, ≤ 32. */
export function isoVolumeId(label: string): string {
  let out = '';
  for (const ch of label.toUpperCase()) {
    if (/[A-Z0-9]/.test(ch)) out += ch;
    else if (ch === '-' || ch === '.' || ch === '_') out += '_';
  }
  return out.slice(0, 32);
}
