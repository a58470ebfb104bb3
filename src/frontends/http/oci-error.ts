/**
 * OCI distribution error documents for `/v2` paths (distribution spec "Error Codes"): registry
 * clients print `{"errors":[{"code","message","detail"}]}` and stumble over plain text. Used by the
 * error hook only — the status still comes from the error catalog.
 */
import type { ErrorCode, FactoryError } from '../../errors.js';

/** Factory error code → OCI error code (anything else is `UNKNOWN`). */
const OCI_CODES: Partial<Record<ErrorCode, string>> = {
  NAME_INVALID: 'NAME_INVALID',
  PATH_INVALID: 'NAME_INVALID',
  NAME_UNKNOWN: 'NAME_UNKNOWN',
  SCHEMATIC_NOT_FOUND: 'NAME_UNKNOWN',
  NOT_FOUND: 'NAME_UNKNOWN',
  MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  VERSION_UNAVAILABLE: 'MANIFEST_UNKNOWN',
  VERSION_INVALID: 'TAG_INVALID',
  BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  METHOD_NOT_ALLOWED: 'UNSUPPORTED',
  NOT_IMPLEMENTED: 'UNSUPPORTED',
  RANGE_NOT_SATISFIABLE: 'RANGE_INVALID',
  BODY_TOO_LARGE: 'SIZE_INVALID',
  BUSY: 'TOOMANYREQUESTS',
  NOT_READY: 'UNAVAILABLE',
};

/** True for the registry API's paths (`/v2`, `/v2/…`, with or without a query). */
export function isRegistryPath(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

/** The OCI error code for a factory error. */
export function ociErrorCode(code: ErrorCode): string {
  return OCI_CODES[code] ?? 'UNKNOWN';
}

/** The JSON error document (with a trailing newline). */
export function ociErrorDocument(fe: FactoryError): string {
  return `${JSON.stringify({ errors: [{ code: ociErrorCode(fe.code), message: fe.message, detail: { factoryCode: fe.code } }] })}\n`;
}
