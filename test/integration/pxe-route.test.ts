/**
 * `GET /pxe/:schematic/:version/:path` over the fixture releases: the exact upstream iPXE scripts
 * (standard, iPXE arch alias, equinixMetal, secure boot), the `pxe.uefiInitrdArg` variant, URL
 * bases (`externalPXEURL` with a path prefix, else `externalURL`), that the script's URLs really
 * serve the assets without redirects, caching of the cmdline, and the failures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory, SNAKEOIL_SECURE_BOOT } from '../helpers/fixture-factory.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const PXE_BASE = 'http://pxe.example.test:8080/boot';
const MAIN_BASE = 'http://factory.example.test';

/** Talos v1.5.x cmdlines (upstream integration test, image-factory §4). */
const METAL_155 =
  'talos.platform=metal console=ttyS0 console=tty0 init_on_alloc=1 slab_nomerge pti=on consoleblank=0 ' +
  'nvme_core.io_timeout=4294967295 printk.devkmsg=on ima_template=ima-ng ima_appraise=fix ima_hash=sha512';
const EQUINIX_155 =
  'talos.platform=equinixMetal console=ttyS1,115200n8 init_on_alloc=1 slab_nomerge pti=on consoleblank=0 ' +
  'nvme_core.io_timeout=4294967295 printk.devkmsg=on ima_template=ima-ng ima_appraise=fix ima_hash=sha512';

/** The upstream standard template. */
function standardScript(base: string, id: string, v: string, arch: string, cmdline: string): string {
  const img = `${base}/image/${id}/${v}`;
  return `#!ipxe\n\nimgfree\nkernel ${img}/kernel-${arch} ${cmdline}\ninitrd ${img}/initramfs-${arch}.xz\nboot\n`;
}

async function createSchematic(t: TestFactory, yaml: string): Promise<string> {
  const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: yaml });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

async function pxe(t: TestFactory, url: string): Promise<string> {
  const res = await t.factory.app.inject({ method: 'GET', url });
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  return res.body;
}

describe(
  '/pxe with externalPXEURL (path prefix) and uefiInitrdArg off: upstream scripts',
  { timeout: 120_000 },
  () => {
    let t: TestFactory;
    before(async () => {
      ({ t } = await makeFixtureFactory({
        http: { externalURL: `${MAIN_BASE}/`, externalPXEURL: `${PXE_BASE}/` },
        pxe: { uefiInitrdArg: false },
        secureBoot: SNAKEOIL_SECURE_BOOT,
      }));
      assert.equal(await createSchematic(t, '{}'), EMPTY_ID);
    });
    after(() => t?.cleanup());

    it('metal-amd64: the exact upstream script, URLs on the PXE base with its prefix', async () => {
      const script = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-amd64`);
      assert.equal(
        script,
        `#!ipxe\n\nimgfree\nkernel ${PXE_BASE}/image/${EMPTY_ID}/v1.5.5/kernel-amd64 ${METAL_155}\n` +
          `initrd ${PXE_BASE}/image/${EMPTY_ID}/v1.5.5/initramfs-amd64.xz\nboot\n`,
      );
    });

    it('metal-x86_64 and metal-i386 (iPXE ${buildarch}) give the metal-amd64 script', async () => {
      const amd64 = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-amd64`);
      assert.equal(await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-x86_64`), amd64);
      assert.equal(await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-i386`), amd64);
    });

    it('a version without "v" still gets v-prefixed URLs', async () => {
      assert.equal(
        await pxe(t, `/pxe/${EMPTY_ID}/1.5.5/metal-amd64`),
        await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-amd64`),
      );
    });

    it('equinixMetal-amd64: console=ttyS1,115200n8 (and packet is its alias)', async () => {
      const script = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/equinixMetal-amd64`);
      assert.equal(script, standardScript(PXE_BASE, EMPTY_ID, 'v1.5.5', 'amd64', EQUINIX_155));
      assert.equal(await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/packet-amd64`), script);
    });

    it('metal-amd64-secureboot: boots the -secureboot-uki.efi with lockdown=confidentiality, no initrd', async () => {
      const script = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-amd64-secureboot`);
      assert.equal(
        script,
        `#!ipxe\n\nimgfree\nkernel ${PXE_BASE}/image/${EMPTY_ID}/v1.5.5/metal-amd64-secureboot-uki.efi ` +
          `${METAL_155} lockdown=confidentiality\nboot\n`,
      );
      const sb = await t.factory.app.inject({
        url: `/image/${EMPTY_ID}/v1.5.5/cmdline-metal-amd64-secureboot`,
      });
      assert.equal(sb.statusCode, 200, sb.body);
      assert.equal(sb.body, `${METAL_155} lockdown=confidentiality`);
    });

    it('arm64 uses the arm64 kernel and initramfs', async () => {
      const script = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-arm64`);
      assert.match(script, /\/v1\.5\.5\/kernel-arm64 talos\.platform=metal /);
      assert.match(script, /\ninitrd \S+\/v1\.5\.5\/initramfs-arm64\.xz\n/);
    });

    it('newer versions: the script carries exactly the cmdline asset of that version', async () => {
      for (const v of ['v1.10.6', 'v1.11.0-beta.1']) {
        const cmdline = await t.factory.app.inject({ url: `/image/${EMPTY_ID}/${v}/cmdline-metal-amd64` });
        assert.equal(cmdline.statusCode, 200);
        const script = await pxe(t, `/pxe/${EMPTY_ID}/${v}/metal-amd64`);
        assert.equal(script, standardScript(PXE_BASE, EMPTY_ID, v, 'amd64', cmdline.body));
        assert.match(cmdline.body, / selinux=1/, `${v}: SELinux from 1.10`);
        assert.doesNotMatch(cmdline.body, /console=ttyS0/, `${v}: metal drops ttyS0 from 1.8`);
      }
      assert.doesNotMatch(
        await pxe(t, `/pxe/${EMPTY_ID}/v1.11.0-beta.1/metal-amd64`),
        /ima_/,
        'IMA args end with 1.10',
      );
    });

    it("a schematic's extra args and META reach the script's kernel line", async () => {
      const id = await createSchematic(
        t,
        `customization:\n  extraKernelArgs: [nolapic, nomodeset]\n  meta:\n    - key: 0xa\n      value: '{"externalIPs":["1.2.3.4"]}'\n`,
      );
      const script = await pxe(t, `/pxe/${id}/v1.5.5/metal-amd64`);
      const cmdline = (await t.factory.app.inject({ url: `/image/${id}/v1.5.5/cmdline-metal-amd64` })).body;
      assert.equal(script, standardScript(PXE_BASE, id, 'v1.5.5', 'amd64', cmdline));
      assert.match(script, / nolapic nomodeset/);
      assert.match(
        script,
        / talos\.environment=INSTALLER_META_BASE64=MHhhPXsiZXh0ZXJuYWxJUHMiOlsiMS4yLjMuNCJdfQ==/,
      );
    });

    it("the script's URLs serve the assets directly (no redirect) once the PXE prefix is stripped", async () => {
      const script = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-amd64`);
      const urls = [...script.matchAll(/^(?:kernel|initrd) (\S+)/gm)].map((m) => m[1]!);
      assert.equal(urls.length, 2);
      for (const u of urls) {
        assert.ok(u.startsWith(`${PXE_BASE}/image/`), u);
        const res = await t.factory.app.inject({ url: u.slice(PXE_BASE.length) });
        assert.equal(res.statusCode, 200, `${u}: ${res.body}`);
        assert.equal(res.headers['location'], undefined);
        assert.ok(res.rawPayload.length > 0);
      }
    });

    it('the second request for a fresh schematic is served from the cache', async () => {
      const id = await createSchematic(t, 'customization:\n  extraKernelArgs: [if.pxe=cache]\n');
      const stats = t.factory.runner.stats;
      const b0 = stats.builds;
      const first = await pxe(t, `/pxe/${id}/v1.8.3/metal-amd64`);
      assert.equal(stats.builds, b0 + 1, 'the cmdline was built once');
      const hits = stats.cacheHits;
      assert.equal(await pxe(t, `/pxe/${id}/v1.8.3/metal-amd64`), first);
      assert.equal(stats.builds, b0 + 1);
      assert.equal(stats.cacheHits, hits + 1);
    });

    it('failures: unknown schematic 404, unavailable version 404, bad paths 400 naming the input', async () => {
      const cases: [string, number, string | RegExp][] = [
        [`/pxe/aaaaaaaaaaaa/v1.5.5/metal-amd64`, 404, 'schematic ID "aaaaaaaaaaaa" not found\n'],
        [`/pxe/${EMPTY_ID}/v1.9.9/metal-amd64`, 404, 'version 1.9.9 is not available\n'],
        [`/pxe/${EMPTY_ID}/v1.1.2/metal-amd64`, 404, 'version 1.1.2 is not available\n'],
        // Regression: `+build` passed the availability check and produced a script of dead URLs.
        [`/pxe/${EMPTY_ID}/v1.5.5+build.1/metal-amd64`, 404, 'version 1.5.5+build.1 is not available\n'],
        [`/pxe/${EMPTY_ID}/v1.x/metal-amd64`, 400, /"v1\.x"/],
        [
          `/pxe/${EMPTY_ID}/v1.5.5/metal`,
          400,
          'error parsing profile from path: invalid platform-arch: "metal"\n',
        ],
        [`/pxe/${EMPTY_ID}/v1.5.5/metal-amd64.iso`, 400, /invalid architecture: "amd64\.iso"/],
        [`/pxe/${EMPTY_ID}/v1.5.5/foo-amd64`, 400, /unknown platform "foo"/],
      ];
      for (const [url, status, body] of cases) {
        const res = await t.factory.app.inject({ url });
        assert.equal(res.statusCode, status, `${url}: ${res.body}`);
        if (typeof body === 'string') assert.equal(res.body, body, url);
        else assert.match(res.body, body, url);
      }
      const json = await t.factory.app.inject({
        url: `/pxe/aaaaaaaaaaaa/v1.5.5/metal-amd64`,
        headers: { accept: 'application/json' },
      });
      assert.deepEqual(json.json(), {
        code: 'SCHEMATIC_NOT_FOUND',
        message: 'schematic ID "aaaaaaaaaaaa" not found',
      });
    });
  },
);

describe('/pxe with defaults: uefiInitrdArg on, URLs on externalURL', { timeout: 120_000 }, () => {
  let t: TestFactory;
  before(async () => {
    ({ t } = await makeFixtureFactory({
      http: { externalURL: `${MAIN_BASE}/` },
      secureBoot: SNAKEOIL_SECURE_BOOT,
    }));
    assert.equal(t.factory.config.pxe.uefiInitrdArg, true, 'the default');
    await createSchematic(t, '{}');
  });
  after(() => t?.cleanup());

  it('metal-amd64: `initrd=initramfs-amd64.xz` leads the kernel args; otherwise the upstream script', async () => {
    const script = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-amd64`);
    assert.equal(
      script,
      standardScript(MAIN_BASE, EMPTY_ID, 'v1.5.5', 'amd64', `initrd=initramfs-amd64.xz ${METAL_155}`),
    );
  });

  it('arm64 names its own initramfs; secure boot (UKI embeds the initrd) gets no initrd= arg', async () => {
    assert.match(
      await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-arm64`),
      /kernel-arm64 initrd=initramfs-arm64\.xz talos/,
    );
    const sb = await pxe(t, `/pxe/${EMPTY_ID}/v1.5.5/metal-amd64-secureboot`);
    assert.equal(
      sb,
      `#!ipxe\n\nimgfree\nkernel ${MAIN_BASE}/image/${EMPTY_ID}/v1.5.5/metal-amd64-secureboot-uki.efi ` +
        `${METAL_155} lockdown=confidentiality\nboot\n`,
    );
  });
});

describe('/pxe without Secure Boot configured', { timeout: 120_000 }, () => {
  let t: TestFactory;
  before(async () => {
    ({ t } = await makeFixtureFactory());
    await createSchematic(t, '{}');
  });
  after(() => t?.cleanup());

  it('-secureboot → 400 secure boot is disabled (no script chaining a UKI this factory cannot sign)', async () => {
    const res = await t.factory.app.inject({ url: `/pxe/${EMPTY_ID}/v1.10.6/metal-amd64-secureboot` });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.body, /secure boot is disabled/);
    assert.equal(
      (await t.factory.app.inject({ url: `/pxe/${EMPTY_ID}/v1.10.6/metal-amd64` })).statusCode,
      200,
    );
  });
});
