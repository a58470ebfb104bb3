/**
 * The web wizard over the fixture releases, in-process (`inject`): every step answers HTML with
 * the strict CSP; the final page creates the same schematic as `POST /schematics`; for a spread of
 * selections (metal, clouds, an SBC, both arches, three eras, with and without Secure Boot) every
 * link on it works — each asset link's status (`GET /status`, the asset route's checks and plan,
 * no build) answers 200 in the state the page shows, PXE scripts answer 200 — and every asset
 * listed as unavailable is refused by the asset route with the reason shown; Secure Boot is
 * offered only by a factory with a signing key; a build started through `POST /status` shows as
 * ready on the page; invalid choices send the user back to the step that made them;
 * `?schematic-id=` pre-fills; static files carry cache headers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AssetKindModule } from '../../src/assets/asset-kind.js';
import { ASSET_KIND_MODULES } from '../../src/assets/kinds/index.js';
import { FactoryError } from '../../src/errors.js';
import { CONTENT_SECURITY_POLICY } from '../../src/frontends/ui/routes.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory, SNAKEOIL_SECURE_BOOT } from '../helpers/fixture-factory.js';

const BASE = 'http://factory.example.test';
const PXE = 'http://pxe.example.test/boot';

/** Whitespace-collapsed page text, as a browser shows it. */
const flat = (s: string) => s.replace(/\s+/g, ' ');

/** Decodes the few entities the escaping helper writes. */
function unescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function wizardUrl(params: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) q.append(k, x);
  return `/?${q}`;
}

describe('web wizard', { timeout: 180_000 }, () => {
  let t: TestFactory;
  /** The same factory with Secure Boot signing configured. */
  let sbt: TestFactory;

  const get = async (url: string, status = 200, on: TestFactory = t) => {
    const res = await on.factory.app.inject({ url });
    assert.equal(res.statusCode, status, `${url}: ${res.body.slice(0, 2000)}`);
    return res;
  };
  const page = async (url: string, status = 200, on: TestFactory = t) => {
    const res = await get(url, status, on);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(res.body, /<script>|style="|\son[a-z]+=/i, 'no inline script, style or handlers');
    return res.body;
  };
  const post = async (yaml: string) => {
    const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: yaml });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; schematic: string };
  };
  /** The `/…` path of an absolute link on the main or PXE base. */
  const local = (href: string) => {
    for (const base of [BASE, PXE]) if (href.startsWith(`${base}/`)) return href.slice(base.length);
    throw new Error(`link ${href} is not on the factory`);
  };

  /**
   * Checks every link of a final page against the factory: asset and checksum links through their
   * status (200, in the state the row shows), PXE scripts by GET (200, a script); every asset
   * listed as unavailable is refused with the reason the page gives. Returns the listed files.
   */
  const checkLinks = async (body: string, on: TestFactory = t) => {
    const links = [...body.matchAll(/href="(http[^"]+)"/g)].map((m) => unescape(m[1]!));
    for (const link of links) {
      const path = local(link);
      const pxe = /^\/pxe\//.test(path);
      if (pxe) {
        assert.match((await get(path, 200, on)).body, /^#!ipxe\n/, link);
        continue;
      }
      const m = /^\/image\/([0-9a-f]{64})\/(v[^/]+)\/(.+?)(\.sha256)?$/.exec(path);
      assert.ok(m, `${link}: an asset link`);
      const res = await on.factory.app.inject({ url: `/status/${m[1]}/${m[2]}/${m[3]}` });
      assert.equal(res.statusCode, 200, `${link}: ${res.body}`);
      const shown = new RegExp(
        `data-asset-path="${m[3]!.replace(/\./g, '\\.')}" data-status-url="status/${m[1]}/${m[2]}/[^"]+" data-state="${res.json<{ state: string }>().state}"`,
      );
      assert.match(flat(body), shown, `${link}: the row shows the state the status route reports`);
    }
    const listed = [...body.matchAll(/<li data-asset-path="([^"]+)"/g)].map((m) => m[1]!);
    const off = [...body.matchAll(/<li data-asset-path="([^"]+)" class="off">/g)].map((m) => m[1]!);
    const id = /id="schematic-id">([0-9a-f]{64})</.exec(body)?.[1];
    const version = /Talos <strong>(v[^<]+)<\/strong>/.exec(body)?.[1];
    for (const f of listed) {
      const linked = links.some((l) => l.endsWith(`/${f}`));
      assert.equal(linked, !off.includes(f), `${f}: linked exactly when it is not listed as unavailable`);
      if (!off.includes(f)) continue;
      const res = await on.factory.app.inject({ url: `/image/${id}/${version}/${f}`, method: 'HEAD' });
      assert.ok(
        res.statusCode >= 400,
        `${f}: listed as unavailable, and the asset route refuses it (${res.statusCode})`,
      );
      const reason = (await on.factory.app.inject({ url: `/status/${id}/${version}/${f}` })).body.trim();
      assert.ok(
        flat(unescape(body)).includes(`(${reason})`),
        `${f}: the page gives the route's reason: ${reason}`,
      );
    }
    return { listed, off, links };
  };

  before(async () => {
    const http = { externalURL: `${BASE}/`, externalPXEURL: `${PXE}/` };
    ({ t } = await makeFixtureFactory({ http }));
    ({ t: sbt } = await makeFixtureFactory({ http, secureBoot: SNAKEOIL_SECURE_BOOT }));
  });
  after(async () => {
    await t?.cleanup();
    await sbt?.cleanup();
  });

  it('GET / is the first step, HEAD / answers 200, static files come with the page', async () => {
    const body = await page('/');
    assert.match(body, /<h1>What do you want to boot\?<\/h1>/);
    assert.match(body, /<form method="get" action="\.\/"/);
    for (const target of ['metal', 'cloud', 'sbc']) assert.match(body, new RegExp(`value="${target}"`));
    assert.equal((await t.factory.app.inject({ method: 'HEAD', url: '/' })).statusCode, 200);
    const hrefs = [...body.matchAll(/(?:href|src)="(ui\/static\/[^"]+)"/g)].map((m) => unescape(m[1]!));
    assert.equal(hrefs.length, 3, hrefs.join(' '));
    for (const href of hrefs) {
      const res = await get(`/${href}`);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      const etag = String(res.headers.etag);
      assert.equal(
        (await t.factory.app.inject({ url: `/${href}`, headers: { 'if-none-match': etag } })).statusCode,
        304,
      );
      assert.equal((await get(`/${href.split('?')[0]}`)).headers['cache-control'], 'public, no-cache');
    }
    assert.match(String((await get('/ui/static/wizard.css')).headers['content-type']), /^text\/css/);
    await get('/ui/static/nope.js', 404);
    await get('/ui/static/..%2Fpackage.json', 404);
  });

  it('metal amd64, two extensions and a kernel arg: the final page creates the POST /schematics ID, and every link works', async () => {
    const choice = {
      target: 'metal',
      version: '1.10.6',
      arch: 'amd64',
      extensions: ['siderolabs/intel-ucode', 'siderolabs/amd-ucode'],
      cmdline: 'nolapic',
    };
    // Each step on the way renders with the earlier choices as hidden fields.
    for (const step of ['version', 'arch', 'extensions', 'customize']) {
      const body = flat(await page(wizardUrl({ ...choice, step })));
      assert.match(body, /aria-current="step"/);
      if (step !== 'extensions') assert.match(body, /name="extensions" value="siderolabs\/amd-ucode"/);
    }
    const body = await page(wizardUrl({ ...choice, step: 'final' }));
    const { id, schematic } = await post(
      'customization:\n  extraKernelArgs: [nolapic]\n  systemExtensions:\n    officialExtensions: [siderolabs/amd-ucode, siderolabs/intel-ucode]\n',
    );
    assert.match(body, new RegExp(`<code class="id" id="schematic-id">${id}</code>`));
    const yaml = /<pre id="schematic-yaml"[^>]*><code>([^<]*)<\/code><\/pre>/.exec(body);
    assert.equal(unescape(yaml?.[1] ?? ''), schematic);
    const curl = unescape(/<pre id="curl"[^>]*><code>([^<]*)<\/code><\/pre>/.exec(body)?.[1] ?? '');
    assert.equal(curl, `curl -X POST --data-binary @- ${BASE}/schematics <<'EOF'\n${schematic}EOF\n`);

    const { listed, off, links } = await checkLinks(body);
    const image = (f: string) => `${BASE}/image/${id}/v1.10.6/${f}`;
    for (const f of ['kernel-amd64', 'initramfs-amd64.xz', 'cmdline-metal-amd64']) {
      assert.ok(links.includes(image(f)), `${f} linked`);
      assert.ok(links.includes(image(`${f}.sha256`)), `${f}.sha256 linked`);
    }
    const kernel = await get(local(image('kernel-amd64')));
    const sum = await get(local(image('kernel-amd64.sha256')));
    assert.equal(sum.body, `${createHash('sha256').update(kernel.rawPayload).digest('hex')}  kernel-amd64\n`);
    const cmdline = await get(local(image('cmdline-metal-amd64')));
    assert.match(cmdline.body, / nolapic$/);

    // Every asset upstream's wizard lists for metal at this version, all deliverable here.
    assert.deepEqual(listed.sort(), [
      'cmdline-metal-amd64',
      'initramfs-amd64.xz',
      'installer-amd64.tar',
      'kernel-amd64',
      'metal-amd64-uki.efi',
      'metal-amd64.iso',
      'metal-amd64.qcow2',
      'metal-amd64.raw.zst',
    ]);
    assert.deepEqual(off, []);
    assert.doesNotMatch(body, /secureboot/, 'no Secure Boot assets on a factory without a signing key');

    // PXE: the script URL on the PXE base, and the snippet chain-loads it.
    const pxeUrl = `${PXE}/pxe/${id}/v1.10.6/metal-amd64`;
    assert.ok(links.includes(pxeUrl));
    assert.match(unescape(body), new RegExp(`chain --replace --autofree ${pxeUrl.replace(/\./g, '\\.')}\\n`));
    assert.match((await get(local(pxeUrl))).body, /^#!ipxe\n/);
    // The installer reference follows the version's installer layout (≥ 1.10: per platform).
    assert.match(body, new RegExp(`factory\\.example\\.test/metal-installer/${id}:v1\\.10\\.6`));
    // Repeating the final page finds the schematic again (same ID, no error).
    assert.match(await page(wizardUrl({ ...choice, step: 'final' })), new RegExp(id));
  });

  it('a spread of selections: every link works, everything unavailable is refused with the reason shown', async () => {
    const final = (params: Record<string, string>, on: TestFactory = t) =>
      page(wizardUrl({ ...params, step: 'final' }), 200, on);

    // Talos 1.8 arm64: GRUB era; the installer is the one for every platform.
    const old = await final({ target: 'metal', version: '1.8.3', arch: 'arm64' });
    assert.match(
      old,
      /factory\.example\.test\/installer\/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1\.8\.3/,
    );
    const o = await checkLinks(old);
    assert.ok(o.listed.includes('metal-arm64-uki.efi'), 'UKIs exist from Talos 1.5');
    assert.ok(o.links.some((l) => l.endsWith('/installer-arm64.tar')));
    // GRUB's arm64-efi modules are not installed here: the ISO and disk images say so, unlinked.
    const grub = existsSync('/usr/lib/grub/arm64-efi/moddep.lst');
    for (const f of ['metal-arm64.iso', 'metal-arm64.raw.zst', 'metal-arm64.qcow2']) {
      assert.equal(o.off.includes(f), !grub, f);
    }
    if (!grub) assert.match(flat(old), /GRUB for arm64-efi is not installed on this factory/);

    // Talos 1.5 amd64: the first UKI version; GRUB ISO and images.
    const v15 = await checkLinks(await final({ target: 'metal', version: '1.5.5', arch: 'amd64' }));
    assert.deepEqual(v15.off, []);
    assert.ok(v15.listed.includes('metal-amd64-uki.efi'));

    // Clouds: the platform's default disk suffix and boot methods; per-platform installers from 1.10.
    const aws = await final({ target: 'cloud', version: '1.10.6', platform: 'aws', arch: 'arm64' });
    assert.doesNotMatch(aws, /PXE boot/);
    assert.match(aws, /aws-installer\//);
    const a = await checkLinks(aws);
    assert.deepEqual(a.off, []);
    assert.ok(a.listed.includes('aws-arm64.raw.xz') && a.listed.includes('aws-installer-arm64.tar'));
    const vmware = await checkLinks(
      await final({ target: 'cloud', version: '1.10.6', platform: 'vmware', arch: 'amd64' }),
    );
    assert.deepEqual(vmware.off, []);
    assert.deepEqual(vmware.listed.slice(0, 2), ['vmware-amd64.ova', 'vmware-amd64.iso']);
    const nocloud = await final({ target: 'cloud', version: '1.8.3', platform: 'nocloud', arch: 'amd64' });
    assert.match(nocloud, /pxe\/[0-9a-f]{64}\/v1\.8\.3\/nocloud-amd64"/);
    assert.deepEqual((await checkLinks(nocloud)).off, []);

    // An SBC: the metal arm64 disk image with the overlay, and the metal installer.
    const boards = await page(wizardUrl({ target: 'sbc', version: '1.10.6', step: 'board' }));
    assert.match(boards, /value="fixture-board"/);
    const sbc = await final({
      target: 'sbc',
      version: '1.10.6',
      board: 'fixture-board',
      'overlay-options': 'greeting: hi\nn: 3\n',
    });
    const { id } = await post(
      'overlay:\n  image: siderolabs/sbc-fixture\n  name: fixture-board\n  options: {greeting: hi, n: 3}\n',
    );
    assert.match(sbc, new RegExp(`id="schematic-id">${id}<`));
    const b = await checkLinks(sbc);
    assert.deepEqual(b.listed, ['metal-arm64.raw.xz', 'installer-arm64.tar']);
    assert.deepEqual(b.off, []);
    assert.match(sbc, new RegExp(`factory\\.example\\.test/metal-installer/${id}:v1\\.10\\.6`));
  });

  it('Secure Boot only on a factory with a signing key: signed assets, PXE and installer references', async () => {
    const params = { target: 'metal', version: '1.10.6', arch: 'amd64', secureboot: 'true' };
    // Without a key: no choice on the architecture step, and a hand-made URL is sent back to it.
    assert.doesNotMatch(await page(wizardUrl({ ...params, step: 'arch' })), /name="secureboot"/);
    const refused = flat(await page(wizardUrl({ ...params, step: 'final' }), 400));
    assert.match(refused, /no Secure Boot signing key configured/);
    assert.doesNotMatch(refused, /secureboot-uki|installer-secureboot/);

    assert.match(await page(wizardUrl({ ...params, step: 'arch' }), 200, sbt), /name="secureboot"/);
    const sb = await page(wizardUrl({ ...params, step: 'final' }), 200, sbt);
    const s = await checkLinks(sb, sbt);
    assert.deepEqual(s.off, []);
    assert.deepEqual(s.listed.sort(), [
      'cmdline-metal-amd64-secureboot',
      'initramfs-amd64.xz',
      'installer-amd64-secureboot.tar',
      'kernel-amd64',
      'metal-amd64-secureboot-uki.efi',
      'metal-amd64-secureboot.iso',
      'metal-amd64-secureboot.raw.zst',
    ]);
    assert.match(sb, /pxe\/[0-9a-f]{64}\/v1\.10\.6\/metal-amd64-secureboot"/);
    assert.match(sb, /factory\.example\.test\/metal-installer-secureboot\//);
    const azure = await page(
      wizardUrl({
        target: 'cloud',
        version: '1.10.6',
        platform: 'azure',
        arch: 'arm64',
        secureboot: 'true',
        step: 'final',
      }),
      200,
      sbt,
    );
    const z = await checkLinks(azure, sbt);
    assert.deepEqual(z.off, []);
    assert.ok(z.listed.includes('azure-arm64-secureboot.vhd.xz'));
    assert.match(azure, /azure-installer-secureboot\//);
  });

  it('a build started from the final page (POST /status) shows as ready on the page', async () => {
    const params = {
      target: 'metal',
      version: '1.8.3',
      arch: 'amd64',
      cmdline: 'ui.status=1',
      step: 'final',
    };
    const before = await page(wizardUrl(params));
    const id = /id="schematic-id">([0-9a-f]{64})</.exec(before)?.[1];
    assert.match(flat(before), /data-asset-path="kernel-amd64" data-status-url="[^"]+" data-state="idle"/);
    const url = `/status/${id}/v1.8.3/kernel-amd64`;
    const started = await t.factory.app.inject({ method: 'POST', url });
    assert.equal(started.statusCode, 202, started.body);
    const deadline = Date.now() + 60_000;
    let state = started.json<{ state: string; size?: number }>();
    while (state.state !== 'ready' && state.state !== 'failed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await t.factory.app.inject({ url })).json();
    }
    assert.equal(state.state, 'ready', JSON.stringify(state));
    const after = flat(await page(wizardUrl(params)));
    assert.match(
      after,
      /data-asset-path="kernel-amd64" data-status-url="[^"]+" data-state="ready" ><span class="status-text" role="status">Ready · [0-9.]+ (KiB|MiB)</,
    );
  });

  it('invalid or missing choices: the step that made them, with a 400 naming the problem (escaped)', async () => {
    const cases: [Record<string, string | string[]>, RegExp, RegExp][] = [
      [{ step: 'version' }, /What do you want to boot/, /Choose what you want to boot/],
      [
        { target: 'metal', version: '9.9.9', step: 'arch' },
        /Talos Linux version/,
        /&quot;9\.9\.9&quot; is not offered/,
      ],
      [
        { target: 'sbc', version: '1.5.5', step: 'board' },
        /Talos Linux version/,
        /overlays start with Talos 1\.7/,
      ],
      [
        { target: 'cloud', version: '1.5.5', platform: 'akamai', step: 'arch' },
        /Cloud platform/,
        /&quot;akamai&quot; is not offered/,
      ],
      [
        { target: 'metal', version: '1.10.6', arch: 'riscv', step: 'extensions' },
        /Architecture/,
        /&quot;riscv&quot; is not available/,
      ],
      [
        {
          target: 'metal',
          version: '1.10.6',
          arch: 'amd64',
          extensions: 'siderolabs/nope',
          step: 'customize',
        },
        /System extensions/,
        /Not in the extension catalog of Talos v1\.10\.6: siderolabs\/nope/,
      ],
      [
        { target: 'metal', version: '1.10.6', arch: 'amd64', meta: 'x', step: 'final' },
        /Customization/,
        /META line 1/,
      ],
      [
        {
          target: 'sbc',
          version: '1.10.6',
          board: 'fixture-board',
          'overlay-options': '[1, 2]',
          step: 'final',
        },
        /Customization/,
        /The schematic is not valid/,
      ],
      [
        { target: '<script>x</script>', step: 'version' },
        /What do you want to boot/,
        /Unknown target &quot;&lt;script&gt;x&lt;\/script&gt;&quot;/,
      ],
    ];
    for (const [params, title, error] of cases) {
      const body = flat(await page(wizardUrl(params), 400));
      assert.match(body, title, JSON.stringify(params));
      assert.match(body, /role="alert"/);
      assert.match(body, error, JSON.stringify(params));
    }
  });

  it('?schematic-id= pre-fills the wizard; the same choices give the same ID; unknown IDs are a 404 page', async () => {
    const { id } = await post(
      'customization:\n  extraKernelArgs: [quiet, if.ui=prefill]\n  meta: [{key: 0xa, value: "{}"}]\n  systemExtensions:\n    officialExtensions: [siderolabs/realtek-firmware]\n',
    );
    const raw = await page(`/?schematic-id=${id}`);
    const body = flat(raw);
    assert.match(body, new RegExp(`Pre-filled from schematic ${id}`));
    assert.match(body, /name="extensions" value="siderolabs\/realtek-firmware"/);
    assert.match(body, /name="cmdline" value="quiet if\.ui=prefill"/);
    assert.match(body, /name="meta" value="0xa=\{\}/);
    // Carry the hidden fields to the final page, as the forms do.
    const hidden = [...raw.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map(
      ([, k, v]) => [k!, unescape(v!)] as const,
    );
    const params: Record<string, string[]> = {
      target: ['metal'],
      version: ['1.10.6'],
      arch: ['amd64'],
      step: ['final'],
    };
    for (const [k, v] of hidden) (params[k] ??= []).push(v);
    assert.match(await page(wizardUrl(params)), new RegExp(`id="schematic-id">${id}<`));

    const missing = flat(await page(`/?schematic-id=${'0'.repeat(64)}`, 404));
    assert.match(missing, /role="alert"/);
    assert.match(missing, /not found/);
  });
});

describe('a failed build on the final page, then a retry', { timeout: 120_000 }, () => {
  let t: TestFactory;
  let attempts = 0;
  let release: () => void = () => undefined;
  /** A stand-in kernel that fails its first build and holds its second until released. */
  const flakyKernel: AssetKindModule = {
    kind: 'kernel',
    salt: 'flaky-kernel',
    plan: (ctx) =>
      Promise.resolve({
        key: { arch: ctx.request.arch },
        async build(b) {
          if (++attempts === 1) throw new FactoryError('BUILD_FAILED', 'kernel: boom');
          await new Promise<void>((resolve, reject) => {
            release = resolve;
            b.signal.addEventListener('abort', () => reject(new Error('aborted')));
          });
          const out = join(b.workDir, 'kernel');
          await writeFile(out, 'kernel\n');
          return out;
        },
      }),
  };

  before(async () => {
    ({ t } = await makeFixtureFactory({}, { kinds: { ...ASSET_KIND_MODULES, kernel: flakyKernel } }));
  });
  after(async () => {
    release(); // never leave the held build behind, whatever failed
    await t?.cleanup();
  });

  it('the page shows the failure with its message; a retry is reported as under way, then ready', async () => {
    const params = wizardUrl({ target: 'metal', version: '1.10.6', arch: 'amd64', step: 'final' });
    const id = /id="schematic-id">([0-9a-f]{64})</.exec(
      (await t.factory.app.inject({ url: params })).body,
    )?.[1];
    const url = `/status/${id}/v1.10.6/kernel-amd64`;
    const poll = async (done: (state: string) => boolean) => {
      for (let i = 0; i < 400; i++) {
        const s = (await t.factory.app.inject({ url })).json<{ state: string; message?: string }>();
        if (done(s.state)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('status did not settle');
    };
    assert.equal((await t.factory.app.inject({ method: 'POST', url })).statusCode, 202);
    assert.deepEqual(await poll((s) => s === 'failed'), {
      state: 'failed',
      code: 'BUILD_FAILED',
      message: 'kernel: boom',
    });
    const failed = flat((await t.factory.app.inject({ url: params })).body);
    assert.match(
      failed,
      /data-asset-path="kernel-amd64" data-status-url="[^"]+" data-state="failed" ><span class="status-text" role="status">Failed: kernel: boom</,
    );

    // The failure is remembered, but a retry is not reported as failed while it is on its way.
    const retry = await t.factory.app.inject({ method: 'POST', url });
    assert.equal(retry.statusCode, 202);
    assert.ok(['queued', 'building'].includes(retry.json<{ state: string }>().state), retry.body);
    await poll((s) => s === 'building');
    release();
    assert.equal((await poll((s) => s === 'ready' || s === 'failed')).state, 'ready');
  });
});
