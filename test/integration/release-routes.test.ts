/**
 * Release metadata routes against the fixture releases, read two ways: from the OCI layouts
 * directly (air-gapped) and from a real docker-registry they were published to. Plus failures:
 * unknown and malformed versions, and a registry that is down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { publishFixtures } from '../fixtures/publish.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import { freePort, startRegistry, type RunningRegistry } from '../helpers/registry.js';

const OFFERED = ['v1.5.5', 'v1.8.3', 'v1.10.6', 'v1.11.0-beta.1'];

function catalogChecks(
  name: string,
  make: (fx: FixtureManifest) => Promise<{ t: TestFactory; registry: string }>,
) {
  describe(`release routes: ${name}`, { timeout: 600_000 }, () => {
    let t: TestFactory;
    let fx: FixtureManifest;
    let registry: string;
    before(async () => {
      fx = await fixtureReleases();
      ({ t, registry } = await make(fx));
    });
    after(() => t?.cleanup());

    const get = (url: string) => t.factory.app.inject({ method: 'GET', url });

    it('/versions filters by minimum and pre-release policy, sorted', async () => {
      const res = await get('/versions');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), OFFERED);
    });

    it('/versions?broken=true lists the configured broken versions', async () => {
      assert.deepEqual((await get('/versions?broken=true')).json(), ['v1.8.2']);
    });

    it('/version/:v/extensions/official lists the catalog with mapped refs', async () => {
      for (const v of fx.versions.filter((x) => OFFERED.includes(x.spec.tag))) {
        const res = await get(`/version/${v.spec.tag.slice(1)}/extensions/official`);
        assert.equal(res.statusCode, 200, res.body);
        const list = res.json() as {
          name: string;
          ref: string;
          digest: string;
          author: string;
          description: string;
        }[];
        assert.deepEqual(
          list.map((e) => e.name),
          v.extensions.map((e) => `siderolabs/${e.name}`),
        );
        for (const [i, e] of v.extensions.entries()) {
          assert.equal(list[i]!.digest, e.digest);
          assert.equal(list[i]!.ref, `${registry}/siderolabs/${e.name}:${e.tag}`);
        }
        if (v.descriptionsYaml)
          assert.ok(
            list.every((e) => e.author !== ''),
            'authors come from descriptions.yaml',
          );
      }
    });

    it('/version/:v/overlays/official: [] before 1.7, the catalog after', async () => {
      assert.deepEqual((await get('/version/v1.5.5/overlays/official')).json(), []);
      const res = await get('/version/v1.8.3/overlays/official');
      assert.equal(res.statusCode, 200, res.body);
      const list = res.json() as { name: string; image: string; ref: string; digest: string }[];
      assert.equal(list[0]?.name, fx.overlay.name);
      assert.equal(list[0]?.digest, fx.overlay.digest);
      assert.equal(list[0]?.image, fx.overlay.repo);
    });

    it('unknown version → 404, malformed → 400 naming it', async () => {
      const unknown = await get('/version/v1.9.9/extensions/official');
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.body, 'version 1.9.9 is not available\n');
      const below = await get('/version/1.1.2/extensions/official');
      assert.equal(below.statusCode, 404);
      const malformed = await get('/version/v1.x/extensions/official');
      assert.equal(malformed.statusCode, 400);
      assert.match(malformed.body, /v1\.x/);
    });
  });
}

catalogChecks('OCI layout (air-gapped)', async (fx) => ({
  t: await makeTestFactory({
    artifacts: { source: 'oci-layout', layoutDir: fx.root },
    build: { brokenTalosVersions: ['1.8.2'] },
  }),
  registry: 'ghcr.io',
}));

let reg: RunningRegistry | undefined;
catalogChecks('docker-registry', async (fx) => {
  reg = await startRegistry();
  await publishFixtures(fx.root, reg.host);
  return {
    t: await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: reg.host, insecure: true } },
      build: { brokenTalosVersions: ['1.8.2'] },
    }),
    registry: reg.host,
  };
});
after(() => reg?.stop());

describe('release routes: registry down', () => {
  it('answers 502 naming the registry, and recovers on the next request once it is back', async () => {
    const port = await freePort();
    const t = await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: `127.0.0.1:${port}`, insecure: true }, retries: 0 },
    });
    try {
      const res = await t.factory.app.inject('/versions');
      assert.equal(res.statusCode, 502);
      assert.match(res.body, new RegExp(`127\\.0\\.0\\.1:${port}`));
    } finally {
      await t.cleanup();
    }
  });
});
