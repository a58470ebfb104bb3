/**
 * Parsing of the release catalogs: the extensions catalog image (`image-digests`, optional
 * `descriptions.yaml`) and the overlays catalog image (`overlays.yaml`). See talos-imager §1.3
 * and errata E16: catalog lines name the upstream host, which we strip to a repository path.
 */
import { parse as parseYaml } from 'yaml';
import { FactoryError } from '../errors.js';

/** One line of `image-digests`. */
export interface CatalogImage {
  /** Repository path without registry host, e.g. `siderolabs/amd-ucode`. */
  repository: string;
  tag: string;
  digest: string;
  /** The line as written in the catalog (key of `descriptions.yaml`). */
  line: string;
}

/** An official extension as `/version/:v/extensions/official` lists it. */
export interface ExtensionEntry {
  name: string;
  ref: string;
  digest: string;
  author: string;
  description: string;
}

/** An official overlay as `/version/:v/overlays/official` lists it. */
export interface OverlayEntry {
  name: string;
  image: string;
  ref: string;
  digest: string;
}

/** Strips a registry host (a first component with `.` or `:`, or `localhost`) from a repository. */
export function repositoryPath(repo: string): string {
  const slash = repo.indexOf('/');
  if (slash < 0) return repo;
  const first = repo.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? repo.slice(slash + 1) : repo;
}

/** Splits `host/repo:tag@sha256:…` into repository path, tag and digest. */
export function parseCatalogRef(line: string, what: string): CatalogImage {
  const m = /^([^@\s]+?)(?::([\w][\w.-]{0,127}))?@(sha256:[a-f0-9]{64})$/.exec(line.trim());
  if (!m) throw new FactoryError('UPSTREAM_UNAVAILABLE', `${what}: malformed catalog line "${line}"`);
  return { repository: repositoryPath(m[1] ?? ''), tag: m[2] ?? '', digest: m[3] ?? '', line: line.trim() };
}

/** Parses `image-digests` (one pinned ref per line; blank lines ignored). */
export function parseImageDigests(text: string): CatalogImage[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => parseCatalogRef(l, 'image-digests'));
}

/** Parses `descriptions.yaml`: a map from catalog line to {author, description}. */
export function parseDescriptions(text: string): Map<string, { author: string; description: string }> {
  const doc = parseYaml(text) as unknown;
  const out = new Map<string, { author: string; description: string }>();
  if (typeof doc !== 'object' || doc === null) return out;
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const rec = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    out.set(k.trim(), {
      author: typeof rec.author === 'string' ? rec.author : '',
      description: typeof rec.description === 'string' ? rec.description : '',
    });
  }
  return out;
}

/** Parses `overlays.yaml` (`overlays: [{name, image, digest}]`). */
export function parseOverlays(text: string): { name: string; image: string; digest: string }[] {
  const doc = parseYaml(text) as { overlays?: unknown } | null;
  const list = Array.isArray(doc?.overlays) ? (doc.overlays as unknown[]) : [];
  return list.map((o, i) => {
    const rec = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
    const { name, image, digest } = rec;
    if (typeof name !== 'string' || typeof image !== 'string' || typeof digest !== 'string') {
      throw new FactoryError(
        'UPSTREAM_UNAVAILABLE',
        `overlays.yaml: entry ${i} needs string name, image and digest`,
      );
    }
    return { name, image, digest };
  });
}

/** Extension renames across Talos versions (spec §2.5): old name → current name. */
export const EXTENSION_ALIASES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries({
    'v4l-uvc': 'v4l-uvc-drivers',
    'usb-modem': 'usb-modem-drivers',
    gasket: 'gasket-driver',
    'talos-vmtoolsd': 'vmtoolsd-guest-agent',
    'xe-guest-utilities': 'xen-guest-agent',
    'nvidia-container-toolkit': 'nvidia-container-toolkit-lts',
    'nvidia-open-gpu-kernel-modules': 'nvidia-open-gpu-kernel-modules-lts',
    'nonfree-kmod-nvidia': 'nonfree-kmod-nvidia-lts',
    'nvidia-fabricmanager': 'nvidia-fabric-manager-lts',
    'i915-ucode': 'i915',
    'amdgpu-firmware': 'amdgpu',
  }).map(([from, to]) => [`siderolabs/${from}`, `siderolabs/${to}`]),
);
