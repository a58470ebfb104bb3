/**
 * Reproducible bytes across processes: the same request built by the HTTP factory (this process)
 * and by the CLI (`image-factory build`, a child process with its own data dir) gives the same
 * sha256, for the GRUB ISO, the systemd-boot (secure-boot) ISO, the unsigned and the signed UKI
 * (our Authenticode carries no signingTime), `raw.xz` and `qcow2`. Both sides use the same
 * externalURL (the virtual schematic extension's author contains it) and the same Secure Boot
 * material (Debian's OVMF snakeoil pair).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { runCli } from '../helpers/cli.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory, SNAKEOIL_SECURE_BOOT } from '../helpers/fixture-factory.js';

const EXTERNAL_URL = 'https://factory.example/';
const SCHEMATIC = `customization:
  extraKernelArgs: [if.test=repro]
  meta:
    - key: 0xa
      value: '{"repro":true}'
  systemExtensions:
    officialExtensions: [siderolabs/amd-ucode]
`;

/** [version, path]: one of each medium, at the cheapest sizes (metal is the smallest disk). */
const CASES: readonly [string, string][] = [
  ['v1.5.5', 'metal-amd64.iso'],
  ['v1.10.6', 'metal-amd64-secureboot.iso'],
  ['v1.10.6', 'metal-amd64-uki.efi'],
  ['v1.10.6', 'metal-amd64-secureboot-uki.efi'],
  ['v1.5.5', 'metal-amd64.raw.xz'],
  ['v1.10.6', 'metal-amd64.qcow2'],
];

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe(
  'the same request gives the same bytes in another process (CLI vs HTTP)',
  { timeout: 1_800_000 },
  () => {
    let t: TestFactory;
    let fx: FixtureManifest;
    let work: string;
    let id: string;

    before(async () => {
      ({ t, fixtures: fx } = await makeFixtureFactory({
        http: { externalURL: EXTERNAL_URL },
        secureBoot: SNAKEOIL_SECURE_BOOT,
      }));
      work = await mkdtemp(join(tmpdir(), 'if-repro-'));
      const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: SCHEMATIC });
      assert.equal(res.statusCode, 201, res.body);
      id = res.json<{ id: string }>().id;
      await writeFile(join(work, 'schematic.yaml'), SCHEMATIC);
    });
    after(async () => {
      await t?.cleanup();
      if (work) await rm(work, { recursive: true, force: true });
    });

    for (const [version, path] of CASES) {
      it(`${version} ${path}`, async () => {
        const res = await t.factory.app.inject({ method: 'GET', url: `/image/${id}/${version}/${path}` });
        assert.equal(res.statusCode, 200, res.body);
        const http = sha256(res.rawPayload);
        assert.equal(res.headers['etag'], `"${http}"`);

        const out = join(work, `${version}-${path}`);
        const cli = await runCli(
          ['build', '--schematic', join(work, 'schematic.yaml'), '--version', version, path, '-o', out],
          {
            IMAGE_FACTORY__artifacts__source: 'oci-layout',
            IMAGE_FACTORY__artifacts__layoutDir: fx.root,
            // One data dir for every CLI run: dependencies may come from its cache, the asset itself
            // is built in that process (nothing of the HTTP factory's is shared).
            IMAGE_FACTORY_DATA_DIR: join(work, 'cli-data'),
            IMAGE_FACTORY_EXTERNAL_URL: EXTERNAL_URL,
            IMAGE_FACTORY__metrics__listen: '',
            IMAGE_FACTORY__secureBoot__signingKeyPath: SNAKEOIL_SECURE_BOOT.signingKeyPath,
            IMAGE_FACTORY__secureBoot__signingCertPath: SNAKEOIL_SECURE_BOOT.signingCertPath,
            IMAGE_FACTORY__secureBoot__signingKeyPassword: SNAKEOIL_SECURE_BOOT.signingKeyPassword,
          },
        );
        assert.equal(cli.code, 0, cli.stderr);
        assert.match(cli.stderr, new RegExp(`sha256 ${http}\\)`), 'the CLI reports the same sha256');
        assert.equal(sha256(await readFile(out)), http, `${path}: CLI bytes = HTTP bytes`);
        await rm(out);
      });
    }
  },
);
