/**
 * `image-factory import <dir|tarball>`: copies a release bundle (OCI layouts, one per repository)
 * into the configured release source — the local layout store (`artifacts.source: oci-layout`)
 * or the release registry — so the factory then runs fully offline.
 */
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { FactoryError } from '../errors.js';
import { buildOciClient } from '../factory.js';
import { importIntoLayoutStore, openBundle, type BundleRepo } from '../release/layout-import.js';
import { importIntoRegistry } from '../release/registry-import.js';

/** Imports `bundle`; returns what was imported (repository and tags). */
export async function importBundle(bundle: string, flags: ConfigFlags): Promise<BundleRepo[]> {
  const config = loadConfig(flags);
  const { root, close } = await openBundle(bundle);
  try {
    if (config.artifacts.source === 'oci-layout') {
      if (!config.artifacts.layoutDir) {
        throw new FactoryError(
          'CONFIG_INVALID',
          'config key "artifacts.layoutDir": required when artifacts.source is oci-layout',
        );
      }
      return await importIntoLayoutStore(root, config.artifacts.layoutDir);
    }
    const core = config.artifacts.core;
    return await importIntoRegistry(buildOciClient(config), root, core.registry, core.namespace);
  } finally {
    await close();
  }
}
