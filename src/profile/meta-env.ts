/**
 * META values on the kernel cmdline (talos-imager §3.2 step 7, errata §1 + E13): the installer
 * reads `talos.environment=INSTALLER_META_BASE64=<enc>` and writes the values into META.
 * `<enc>` = std base64 (padded) of `0x<key, lowercase hex, no padding>=<value>` joined by `;`,
 * gzip'd first when the text is longer than 256 bytes and the target Talos is ≥ 1.6.3.
 *
 * Byte-compatibility caveat (errata E13): Talos gzips with Go `compress/gzip` level 9; we use
 * Node's zlib at level 9. Both decode to the same text, but the compressed bytes (and so the
 * base64, the cmdline, UKI `.cmdline` and PCR values) differ from upstream for > 256-byte META.
 * Uncompressed META (the common case) is byte-identical.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { FactoryError } from '../errors.js';
import type { MetaValue } from '../schematic/types.js';

/** Kernel arg key carrying environment variables for the installer. */
export const KERNEL_PARAM_ENVIRONMENT = 'talos.environment';
/** Environment variable holding the encoded META values. */
export const META_VALUES_ENV_VAR = 'INSTALLER_META_BASE64';
/** Raw text longer than this many bytes is gzip'd (when the version allows it). */
export const META_GZIP_THRESHOLD = 256;

/** Encodes META values as Talos `meta.Values.Encode(allowGzip)` does. */
export function encodeMetaValues(values: readonly MetaValue[], allowGzip: boolean): string {
  const text = values.map((v) => `0x${v.key.toString(16)}=${v.value}`).join(';');
  let bytes: Buffer = Buffer.from(text, 'utf8');
  if (allowGzip && bytes.length > META_GZIP_THRESHOLD) bytes = gzipSync(bytes, { level: 9 });
  return bytes.toString('base64');
}

/** Decodes an encoded META string (gzip'd or not) back into values; for tests and diagnostics. */
export function decodeMetaValues(encoded: string): MetaValue[] {
  let bytes = Buffer.from(encoded, 'base64');
  if (bytes.length === 0) return [];
  if (bytes.length >= 10 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return bytes
    .toString('utf8')
    .split(';')
    .map((part) => {
      const eq = part.indexOf('=');
      const keyText = eq === -1 ? '' : part.slice(0, eq);
      const key = /^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(keyText) ? Number(keyText) : Number.NaN;
      if (!Number.isInteger(key) || key < 0 || key > 255) {
        throw new FactoryError(
          'PROFILE_INVALID',
          `invalid META value ${JSON.stringify(part)}: expected 0x<key>=<value>`,
        );
      }
      return { key, value: part.slice(eq + 1) };
    });
}
