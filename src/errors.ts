/**
 * The one error catalog: every failure the factory reports carries a stable string code, and the
 * HTTP status comes from this table alone (mapped to a response in `frontends/http/error-hook.ts`).
 */

/** Stable error codes → HTTP status. Codes are part of the public API: never rename one. */
export const ERROR_CATALOG = {
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  PRECONDITION_FAILED: 412,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  SCHEMATIC_INVALID: 400,
  SCHEMATIC_NOT_FOUND: 404,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA: 415,
  PATH_INVALID: 400,
  VERSION_INVALID: 400,
  VERSION_UNAVAILABLE: 404,
  EXTENSION_UNAVAILABLE: 400,
  EXTENSION_INVALID: 400,
  OVERLAY_UNAVAILABLE: 400,
  PROFILE_INVALID: 400,
  SECUREBOOT_DISABLED: 400,
  RANGE_NOT_SATISFIABLE: 416,
  IMPORT_INVALID: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // Registry frontend (/v2): the OCI distribution error codes of the same name.
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  MANIFEST_UNKNOWN: 404,
  BLOB_UNKNOWN: 404,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_AUTH: 502,
  UPSTREAM_TIMEOUT: 504,
  DIGEST_MISMATCH: 502,
  MANIFEST_TOO_LARGE: 502,
  BUILD_FAILED: 500,
  BUILD_TIMEOUT: 504,
  NOT_IMPLEMENTED: 501,
  BUSY: 503,
  NOT_READY: 503,
  STORAGE_READ_ONLY: 503,
  STORAGE_FULL: 507,
  CONFIG_INVALID: 500,
  CLIENT_GONE: 499,
  INTERNAL: 500,
} as const satisfies Record<string, number>;

/** A stable error code from {@link ERROR_CATALOG}. */
export type ErrorCode = keyof typeof ERROR_CATALOG;

/** A failure with a stable code, a message meant for the user, and an optional cause for the logs. */
export class FactoryError extends Error {
  readonly code: ErrorCode;
  /** Extra response headers (e.g. `Content-Range` on a 416). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FactoryError';
    this.code = code;
    this.headers = options.headers ?? {};
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return ERROR_CATALOG[this.code];
  }
}

/** True when `e` is a {@link FactoryError} (optionally with one of the given codes). */
export function isFactoryError(e: unknown, ...codes: ErrorCode[]): e is FactoryError {
  return e instanceof FactoryError && (codes.length === 0 || codes.includes(e.code));
}

/**
 * Wraps anything thrown into a FactoryError, keeping FactoryErrors as they are. The message of an
 * unexpected error (file system paths, library internals) stays in the cause, for the logs only.
 */
export function toFactoryError(e: unknown): FactoryError {
  if (e instanceof FactoryError) return e;
  return (
    storageError(e) ??
    new FactoryError('INTERNAL', 'internal error (the server log has the details)', { cause: e })
  );
}

/**
 * A file-system failure that says something the client can act on (retry later, tell the
 * operator): a full disk or a read-only data directory. Never names the path (the cause keeps it).
 */
export function storageError(e: unknown): FactoryError | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new FactoryError('STORAGE_FULL', 'cache storage is full', { cause: e });
  // Root ignores permission bits, so EACCES/EPERM mean a non-root factory cannot write its data dir.
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM')
    return new FactoryError('STORAGE_READ_ONLY', 'storage is read-only', { cause: e });
  return undefined;
}
