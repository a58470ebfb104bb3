/**
 * Platform strings (`linux/arm64/v8`) and picking one entry out of a multi-platform index.
 */
import { FactoryError } from '../errors.js';
import type { Descriptor, ImageIndex, Platform } from './manifest.js';

/** Parses `os/arch[/variant]`. */
export function parsePlatform(value: string): Platform {
  const parts = value.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || (parts.length === 3 && !variant)) {
    throw new FactoryError('CONFIG_INVALID', `invalid platform "${value}": expected os/arch[/variant]`);
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** Formats a platform as `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant]
    .filter((p) => p !== undefined && p !== '')
    .join('/');
}

// arm64 images usually omit the (only) variant v8; amd64 has no variant worth matching.
function normalizedVariant(p: Platform): string | undefined {
  if (p.architecture === 'arm64') return p.variant === undefined || p.variant === '' ? 'v8' : p.variant;
  return p.variant === '' ? undefined : p.variant;
}

/** True when `candidate` satisfies `wanted` (a wanted platform without variant matches any variant). */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  if (wanted.variant === undefined) return true;
  return normalizedVariant(candidate) === normalizedVariant(wanted);
}

/**
 * Picks the manifest for `platform` (string or object) out of an index. Throws NOT_FOUND listing
 * the platforms the index does offer; `what` names the index in that message.
 */
export function selectPlatform(
  index: ImageIndex,
  platform: string | Platform,
  what = 'image index',
): Descriptor {
  const wanted = typeof platform === 'string' ? parsePlatform(platform) : platform;
  const found = index.manifests.find((m) => m.platform !== undefined && platformMatches(m.platform, wanted));
  if (found) return found;
  const offered = index.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []));
  throw new FactoryError(
    'NOT_FOUND',
    `${what} has no manifest for platform ${formatPlatform(wanted)} (offers: ${offered.length ? offered.join(', ') : 'none'})`,
  );
}
