/**
 * Schematic IDs: lowercase hex SHA-256 of the canonical YAML bytes.
 */
import { createHash } from 'node:crypto';
import type { SchematicId } from './types.js';

/** The ID of a canonical schematic document. */
export function schematicId(canonical: string | Uint8Array): SchematicId {
  return createHash('sha256').update(canonical).digest('hex');
}

/** True when `s` has the shape of a schematic ID (64 lowercase hex characters). */
export function isSchematicId(s: string): s is SchematicId {
  return /^[0-9a-f]{64}$/.test(s);
}
