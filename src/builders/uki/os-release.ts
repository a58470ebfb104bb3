/**
 * The `.osrel` section: Talos' os-release text (talos-imager.md §5.1, errata §4). The HEAD imager
 * uses the profile's name and version; ID is the lower-cased name with spaces replaced by `_`.
 * The text ends with a newline.
 */

/** The os-release text for `name` (e.g. `Talos`) at `version` (e.g. `v1.10.6`). */
export function osReleaseText(version: string, name = 'Talos'): string {
  const id = name.toLowerCase().replace(/ /g, '_');
  return [
    `NAME="${name}"`,
    `ID=${id}`,
    `VERSION_ID=${version}`,
    `PRETTY_NAME="${name} (${version})"`,
    'HOME_URL="https://www.talos.dev/"',
    'BUG_REPORT_URL="https://github.com/siderolabs/talos/issues"',
    'VENDOR_NAME="Sidero Labs"',
    'VENDOR_URL="https://www.siderolabs.com/"',
    '',
  ].join('\n');
}
