/**
 * The assertion every proof-by-boot test makes: the fixture init's report lists the requested
 * extensions (with their files) and the virtual schematic extension with the schematic's ID, every
 * layer mounted, no errors.
 */
import assert from 'node:assert/strict';
import type { FixtureManifest } from '../fixtures/manifest.js';
import type { BootReport } from './report.js';

/** Asserts that `r` shows `schematicId` with `extensions` for `version` of the fixture set. */
export function assertSchematicReport(
  fx: FixtureManifest,
  r: BootReport,
  version: string,
  schematicId: string,
  extensions: readonly string[],
  arch: 'amd64' | 'arm64' = 'amd64',
): void {
  const v = fx.versions.find((x) => x.spec.tag === version);
  assert.ok(v, `fixture version ${version}`);
  assert.match(r.cmdline, /talos\.platform=/);
  const names = r.layers.map((l) => l.name).filter((n) => n !== 'modules.dep');
  const expected = extensions.map((e) => e.replace('siderolabs/', ''));
  assert.deepEqual(names, [...expected, 'schematic']);
  const schematicLayer = r.layers.find((l) => l.name === 'schematic');
  assert.equal(schematicLayer?.version, schematicId);
  assert.ok(
    r.schematicMarkers.includes(schematicId),
    `marker for ${schematicId} in ${r.schematicMarkers.join(',')}`,
  );
  for (const l of r.layers) assert.equal(l.state, 'mounted', `${l.name} ${l.state}`);
  assert.deepEqual(r.errors, []);
  for (const e of expected) {
    const rel = v.extensions.find((x) => x.name === e);
    const layer = r.layers.find((l) => l.name === e);
    assert.ok(rel && layer, `layer ${e}`);
    for (const f of rel.files[arch] ?? []) {
      // Firmware is moved out of the squashfs into the initramfs itself.
      if (/(^|\/)lib\/firmware\//.test(f.path)) continue;
      assert.ok(
        layer.files.some((x) => x.path.endsWith(f.path.replace(/^rootfs/, ''))),
        `${e}: ${f.path}`,
      );
    }
  }
}
