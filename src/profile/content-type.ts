/**
 * Response headers that depend only on the asset path (image-factory §3.6, §1.3.2 step 9).
 *
 * Content-Type: upstream's explicit table plus Go's `mime.TypeByExtension`, which in the
 * production image resolves nothing we serve, so `.tar`/`.zst` come out as octet-stream there.
 * We name those two properly (`application/x-tar`, `application/zstd`): a deliberate, harmless
 * improvement; every other path gets upstream's exact type.
 */

/** Extension (with dot) → media type; anything else is `application/octet-stream`. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.efi': 'application/efi',
  '.iso': 'application/x-iso9660-image',
  '.xz': 'application/x-xz',
  '.gz': 'application/gzip',
  '.qcow2': 'application/x-qemu-disk',
  '.tar': 'application/x-tar',
  '.zst': 'application/zstd',
};

/** Fallback media type. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Go `filepath.Ext`: from the last `.` of the last path element, or '' when there is none. */
export function pathExtension(path: string): string {
  for (let i = path.length - 1; i >= 0 && path[i] !== '/'; i--) {
    if (path[i] === '.') return path.slice(i);
  }
  return '';
}

/** Content-Type for an asset path (suffix-stripped, not the `?filename=` override). */
export function contentTypeFor(path: string): string {
  const ext = pathExtension(path);
  return Object.hasOwn(CONTENT_TYPES, ext)
    ? (CONTENT_TYPES[ext] ?? DEFAULT_CONTENT_TYPE)
    : DEFAULT_CONTENT_TYPE;
}

const SAFE_QUOTED = /^[\x20-\x7e]*$/;

/**
 * `Content-Disposition` for a download filename. Plain printable-ASCII names without `"`/`\`
 * give upstream's exact `attachment; filename="<name>"`. Other names (the `?filename=` override is
 * user input) would make upstream's unescaped header invalid or injectable, so we send an ASCII
 * fallback (`"`/`\` backslash-escaped, other bytes → `_`) plus RFC 6266/5987 `filename*=UTF-8''…`.
 */
export function contentDisposition(filename: string): string {
  if (SAFE_QUOTED.test(filename) && !/["\\]/.test(filename)) return `attachment; filename="${filename}"`;
  const fallback = Array.from(filename, (ch) => (/^[\x20-\x7e]$/.test(ch) ? ch : '_'))
    .join('')
    .replace(/["\\]/g, (c) => `\\${c}`);
  // encodeURIComponent throws on lone surrogates; make the text well-formed first.
  const wellFormed = filename.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
  const encoded = encodeURIComponent(wellFormed).replace(
    /['()*]/g,
    (c) => `%${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
