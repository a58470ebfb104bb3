/**
 * The web wizard over the fixture releases, in-process (`inject`): every step answers HTML with
 * the strict CSP; the final page creates the same schematic as `POST /schematics`, and every link
 * on it works (assets, checksums, PXE) while every asset listed as unavailable really answers 501;
 * invalid choices send the user back to the step that made them; `?schematic-id=` pre-fills;
 * static files carry cache headers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../src/frontends/ui/routes.js';
import { parseAssetPath } from '../../src/profile/path.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';

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

  const get = async (url: string, status = 200) => {
    const res = await t.factory.app.inject({ url });
    assert.equal(res.statusCode, status, `${url}: ${res.body.slice(0, 2000)}`);
    return res;
  };
  const page = async (url: string, status = 200) => {
    const res = await get(url, status);
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

  before(async () => {
    ({ t } = await makeFixtureFactory({ http: { externalURL: `${BASE}/`, externalPXEURL: `${PXE}/` } }));
  });
  after(() => t?.cleanup());

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

    const links = [...body.matchAll(/href="(http[^"]+)"/g)].map((m) => unescape(m[1]!));
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

    // Every asset metal offers is listed; those whose kind has no builder (yet) are never links
    // and really answer 501; the others are links. (Which is which moves as builders land.)
    const listed = [...body.matchAll(/<li data-asset-path="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(listed.sort(), [
      'cmdline-metal-amd64',
      'initramfs-amd64.xz',
      'kernel-amd64',
      'metal-amd64-uki.efi',
      'metal-amd64.iso',
      'metal-amd64.raw.zst',
    ]);
    const off = [...body.matchAll(/<li data-asset-path="([^"]+)" class="off">/g)].map((m) => m[1]!);
    for (const f of listed) {
      const built = t.factory.assets.implementedKinds().has(parseAssetPath(f).kind);
      assert.equal(
        off.includes(f),
        !built,
        `${f}: shown as unavailable exactly when its kind has no builder`,
      );
      assert.equal(links.includes(image(f)), built, `${f}: linked exactly when it can be built`);
      if (!built) await get(`/image/${id}/v1.10.6/${f}`, 501);
    }

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

  it('installer references before 1.10, secure boot assets, a cloud platform and an SBC with overlay options', async () => {
    const old = await page(wizardUrl({ target: 'metal', version: '1.8.3', arch: 'arm64', step: 'final' }));
    assert.match(
      old,
      /factory\.example\.test\/installer\/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1\.8\.3/,
    );
    assert.doesNotMatch(old, /-uki\.efi/, 'no UKI before 1.10 without secure boot');

    const sb = await page(
      wizardUrl({ target: 'metal', version: '1.10.6', arch: 'amd64', secureboot: 'true', step: 'final' }),
    );
    assert.match(sb, /data-asset-path="metal-amd64-secureboot-uki\.efi"/);
    assert.match(sb, /installer-secureboot\//);
    // The secure-boot PXE script boots the UKI: it is offered exactly when UKIs can be built.
    assert.equal(
      /metal-amd64-secureboot<\/code> <span class="unavailable">/.test(flat(sb)),
      !t.factory.assets.implementedKinds().has('uki'),
      'the SB PXE script needs the UKI',
    );

    const aws = await page(
      wizardUrl({ target: 'cloud', version: '1.10.6', platform: 'aws', arch: 'arm64', step: 'final' }),
    );
    assert.match(aws, /data-asset-path="aws-arm64\.raw\.xz"/);
    assert.doesNotMatch(aws, /PXE boot/);
    assert.match(aws, /aws-installer\//);

    const boards = await page(wizardUrl({ target: 'sbc', version: '1.10.6', step: 'board' }));
    assert.match(boards, /value="fixture-board"/);
    const sbc = await page(
      wizardUrl({
        target: 'sbc',
        version: '1.10.6',
        board: 'fixture-board',
        'overlay-options': 'greeting: hi\nn: 3\n',
        step: 'final',
      }),
    );
    const { id } = await post(
      'overlay:\n  image: siderolabs/sbc-fixture\n  name: fixture-board\n  options: {greeting: hi, n: 3}\n',
    );
    assert.match(sbc, new RegExp(`id="schematic-id">${id}<`));
    assert.match(sbc, /data-asset-path="metal-arm64\.raw\.xz"/);
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
