/**
 * The wizard's pure parts: the escaping helper, state ↔ parameters round trip, the schematic
 * document it builds (same ID as the equivalent hand-written YAML), pre-filling from a schematic,
 * what the final page offers per platform/version, and that hostile catalog text stays text in
 * every renderer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  overlayOptionsYaml,
  parseMetaLines,
  prefillFrom,
  schematicDocument,
  splitKernelArgs,
} from '../../src/frontends/ui/document.js';
import {
  cloudPlatforms,
  listedCatalog,
  resolveFlow,
  stepsFor,
  type WizardData,
} from '../../src/frontends/ui/flow.js';
import type { Availability } from '../../src/frontends/ui/availability.js';
import { attrIf, escapeHtml, html, join } from '../../src/frontends/ui/html.js';
import { offerFor } from '../../src/frontends/ui/offer.js';
import { curlCommand, installerReference, renderFinal } from '../../src/frontends/ui/pages/final.js';
import { hiddenState, renderShell } from '../../src/frontends/ui/pages/layout.js';
import { renderStep } from '../../src/frontends/ui/pages/steps.js';
import { elapsedText, formatBytes, formatElapsed, statusText } from '../../src/frontends/ui/status-text.js';
import {
  EMPTY_STATE,
  parseState,
  stateParams,
  stepHref,
  withState,
  type WizardState,
} from '../../src/frontends/ui/state.js';
import { parseAssetPath } from '../../src/profile/path.js';
import { findPlatform } from '../../src/profile/platforms.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';
import type { ExtensionEntry } from '../../src/release/catalog.js';
import { createSchematic } from '../../src/schematic/index.js';

/** Rendered HTML with whitespace runs collapsed (as a browser shows it). */
const flat = (h: unknown) => String(h).replace(/\s+/g, ' ');
const HOSTILE = `<script>alert("x")</script><img src=x onerror='y'>&amp;`;
const quirks = (v: string) => deriveQuirks(parseTalosVersion(v));
const NO_SB = { secureBoot: false } as const;

/** Release data in memory, with a hostile catalog entry. */
function data(versions = ['v1.5.5', 'v1.8.3', 'v1.10.6', 'v1.11.0-beta.1']): WizardData {
  const ext = (name: string, description: string): ExtensionEntry => ({
    name,
    description,
    author: HOSTILE,
    ref: `ghcr.io/${name}:v1`,
    digest: `sha256:${'0'.repeat(64)}`,
  });
  return {
    versions: async () => versions,
    extensionCatalog: async () => [
      ext('siderolabs/zfs', 'ZFS'),
      ext('siderolabs/amd-ucode', HOSTILE),
      ext('siderolabs/metal-agent', 'hidden'),
      ext(`evil/"><script>`, 'name with markup'),
    ],
    overlayCatalog: async () => [
      { name: 'rpi_generic', image: 'siderolabs/sbc-raspberrypi', ref: 'r', digest: 'd' },
      { name: `<b>board</b>`, image: HOSTILE, ref: 'r', digest: 'd' },
    ],
  };
}

describe('html escaping helper', () => {
  it('escapes every interpolation, keeps nested fragments, joins lists', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(
      String(html`<p title="${'"onmouseover="x'}">${inner}${[1, '<', undefined, false, null]}</p>`),
      '<p title="&quot;onmouseover=&quot;x"><b>&lt;i&gt;</b>1&lt;</p>',
    );
    assert.equal(String(join(['<', html`<i>x</i>`], ', ')), '&lt;, <i>x</i>');
    assert.equal(String(attrIf(true, 'checked')), ' checked');
    assert.equal(String(attrIf(false, 'checked')), '');
  });

  it('no string ever comes out unescaped (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = String(html`${s}`);
        assert.equal(out, escapeHtml(s));
        assert.doesNotMatch(out, /[<>'"]|&(?!(amp|lt|gt|quot|#39);)/, `${JSON.stringify(s)} → ${out}`);
      }),
    );
  });
});

describe('wizard state', () => {
  it('parameters round-trip through parseState (property)', () => {
    const text = fc.string({ maxLength: 20 });
    const oneLine = fc.stringMatching(/^([a-z0-9.=_-]{1,12}( [a-z0-9.=_-]{1,12}){0,3})?$/);
    const state = fc.record({
      target: fc.constantFrom('', 'metal', 'cloud', 'sbc'),
      version: fc.constantFrom('', '1.10.6', '1.11.0-beta.1'),
      platform: fc.constantFrom('', 'aws', 'digital-ocean'),
      board: fc.constantFrom('', 'rpi_generic'),
      arch: fc.constantFrom('', 'amd64', 'arm64'),
      secureBoot: fc.boolean(),
      extensions: fc
        .uniqueArray(fc.stringMatching(/^[a-z]{1,8}\/[a-z-]{1,10}$/), { maxLength: 5 })
        .map((a) => a.sort()),
      cmdline: oneLine,
      bootloader: fc.constantFrom('auto', 'sd-boot', 'grub'),
      overlayOptions: text.map((t) => t.replace(/\r/g, '')),
      meta: text.map((t) => t.replace(/\r/g, '')),
    });
    fc.assert(
      fc.property(state, (s) => {
        const full: WizardState = { ...EMPTY_STATE, ...s };
        const params: Record<string, string[]> = {};
        for (const [k, v] of stateParams(full)) (params[k] ??= []).push(v);
        assert.deepEqual(parseState(params), full);
        // …and through a URL, as a browser would send it.
        const href = stepHref(full, 'customize');
        const q = new URL(href, 'http://h/').searchParams;
        const fromUrl: Record<string, string[]> = {};
        for (const [k, v] of q) (fromUrl[k] ??= []).push(v);
        assert.deepEqual(parseState(fromUrl), { ...full, step: 'customize' });
      }),
    );
  });

  it('normalises: v prefix, CRLF, comma lists, the "-" marker, duplicate extensions', () => {
    const s = parseState({
      version: 'v1.10.6',
      extensions: ['b/x,a/y', '-', 'a/y'],
      meta: '0xa=1\r\n0xb=2',
      cmdline: '  a   b ',
      secureboot: 'on',
    });
    assert.equal(s.version, '1.10.6');
    assert.deepEqual(s.extensions, ['a/y', 'b/x']);
    assert.equal(s.meta, '0xa=1\n0xb=2');
    assert.equal(s.cmdline, 'a b');
    assert.equal(s.secureBoot, true);
    assert.equal(stepHref(EMPTY_STATE, 'target'), './');
  });

  it("hidden fields carry the state except the step's own controls", () => {
    const s = withState(EMPTY_STATE, {
      target: 'metal',
      version: '1.10.6',
      arch: 'amd64',
      secureBoot: true,
      extensions: ['a/b'],
    });
    const hidden = String(hiddenState(s, 'arch'));
    assert.match(hidden, /name="target" value="metal"/);
    assert.match(hidden, /name="extensions" value="a\/b"/);
    assert.doesNotMatch(hidden, /name="arch"|name="secureboot"/);
  });

  it('steps per target', () => {
    assert.deepEqual(stepsFor('metal'), ['target', 'version', 'arch', 'extensions', 'customize', 'final']);
    assert.deepEqual(stepsFor('cloud'), [
      'target',
      'version',
      'platform',
      'arch',
      'extensions',
      'customize',
      'final',
    ]);
    assert.deepEqual(stepsFor('sbc'), ['target', 'version', 'board', 'extensions', 'customize', 'final']);
  });
});

describe('schematic document', () => {
  it('gives the same ID as the hand-written YAML of the same schematic', () => {
    const doc = schematicDocument({
      extensions: ['siderolabs/amd-ucode', 'siderolabs/intel-ucode'],
      extraKernelArgs: ['nolapic', 'console="x y"'],
      meta: [{ key: 10, value: '{"a": "b"}' }],
      bootloader: 'sd-boot',
      overlay: {
        image: 'siderolabs/sbc-raspberrypi',
        name: 'rpi_generic',
        optionsYaml: 'configTxtAppend: |\n  a\n\n  b\nx: [1, 2]\n',
      },
    });
    const hand = `overlay:
  image: siderolabs/sbc-raspberrypi
  name: rpi_generic
  options:
    configTxtAppend: "a\\n\\nb\\n"
    x: [1, 2]
customization:
  extraKernelArgs: [nolapic, 'console="x y"']
  meta: [{key: 0xa, value: '{"a": "b"}'}]
  systemExtensions: {officialExtensions: [siderolabs/amd-ucode, siderolabs/intel-ucode]}
  bootloader: sd-boot
`;
    assert.equal(createSchematic(doc).id, createSchematic(hand).id);
  });

  it('the empty choice is the empty schematic; bad overlay options are named', () => {
    assert.equal(
      createSchematic(schematicDocument({ extensions: [], extraKernelArgs: [], meta: [] })).id,
      '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba',
    );
    const overlay = (optionsYaml: string) => ({
      extensions: [],
      extraKernelArgs: [],
      meta: [],
      overlay: { image: 'i', name: 'n', optionsYaml },
    });
    assert.throws(() => schematicDocument(overlay('a: 1\n---\nb: 2')), /document markers/);
    assert.throws(() => createSchematic(schematicDocument(overlay('- a\n- b'))), /cannot unmarshal|options/);
  });

  it('META lines and kernel args', () => {
    assert.deepEqual(parseMetaLines('0xa=x=y\n\n12=\n'), [
      { key: 10, value: 'x=y' },
      { key: 12, value: '' },
    ]);
    assert.throws(() => parseMetaLines('0x100=a'), /META line 1/);
    assert.throws(() => parseMetaLines('ok=1'), /META line 1/);
    assert.throws(() => parseMetaLines('1=a\nnovalue'), /META line 2/);
    assert.deepEqual(splitKernelArgs(' a  b\tc '), ['a', 'b', 'c']);
  });

  it('pre-fill from a schematic round-trips to the same ID, naming what it cannot carry', () => {
    const src = createSchematic(`overlay:
  image: siderolabs/sbc-raspberrypi
  name: rpi_generic
  options: {configTxtAppend: "a\\n\\nb\\n", n: 3}
customization:
  extraKernelArgs: [a, b=c]
  meta: [{key: 10, value: v}]
  systemExtensions: {officialExtensions: [siderolabs/zfs]}
  bootloader: grub
`);
    const p = prefillFrom(src);
    assert.deepEqual(p.dropped, []);
    assert.equal(overlayOptionsYaml(src.canonical), 'configTxtAppend: |\n    a\n\n    b\n"n": 3\n');
    const again = schematicDocument({
      extensions: p.extensions,
      extraKernelArgs: splitKernelArgs(p.cmdline),
      meta: parseMetaLines(p.meta),
      bootloader: p.bootloader,
      ...(p.overlay ? { overlay: p.overlay } : {}),
    });
    assert.equal(createSchematic(again).id, src.id);

    const odd = prefillFrom(
      createSchematic(
        'customization:\n  embeddedMachineConfiguration: "x"\n  extraKernelArgs: ["a b"]\n  meta: [{key: 1, value: "l1\\nl2"}]\n',
      ),
    );
    assert.equal(odd.dropped.length, 3, odd.dropped.join());
  });

  it('the curl line posts the canonical YAML, with a delimiter the YAML does not contain', () => {
    const c = curlCommand(
      'http://f.example/prefix/',
      'customization:\n    extraKernelArgs:\n        - EOF\nEOF\n',
    );
    assert.match(c, /^curl -X POST --data-binary @- http:\/\/f\.example\/prefix\/schematics <<'EOF1'\n/);
    assert.ok(c.endsWith('\nEOF\nEOF1\n'));
  });
});

describe('what the final page offers', () => {
  const offer = (platform: string, arch: 'amd64' | 'arm64', secureBoot: boolean, v: string, board = false) =>
    offerFor({ platform: findPlatform(platform)!, arch, secureBoot, board, quirks: quirks(v) });
  const files = (o: ReturnType<typeof offer>) => o.groups.flatMap((g) => g.assets.map((a) => a.file));

  it('metal: boot methods in table order (ISO, raw + qcow2), kernel/initramfs/cmdline, UKI where the version has it, PXE, installer', () => {
    const m = offer('metal', 'amd64', false, 'v1.8.3');
    assert.deepEqual(files(m), [
      'metal-amd64.iso',
      'metal-amd64.raw.zst',
      'metal-amd64.qcow2',
      'kernel-amd64',
      'initramfs-amd64.xz',
      'cmdline-metal-amd64',
      'metal-amd64-uki.efi',
    ]);
    assert.deepEqual(m.pxe, {
      path: 'metal-amd64',
      uses: ['cmdline-metal-amd64', 'kernel-amd64', 'initramfs-amd64.xz'],
    });
    assert.deepEqual([m.installer.image, m.installer.asset?.file], ['installer', 'installer-amd64.tar']);
    // Talos 1.5 is the first with UKIs (quirk supportsUKI), whatever the version string looks like.
    assert.ok(!files(offer('metal', 'amd64', false, 'v1.4.8')).some((f) => f.endsWith('-uki.efi')));
    assert.ok(files(offer('metal', 'amd64', false, 'v1.5.5')).includes('metal-amd64-uki.efi'));

    const sb = offer('metal', 'amd64', true, 'v1.10.6');
    assert.deepEqual(files(sb), [
      'metal-amd64-secureboot.iso',
      'metal-amd64-secureboot.raw.zst',
      'kernel-amd64',
      'initramfs-amd64.xz',
      'cmdline-metal-amd64-secureboot',
      'metal-amd64-secureboot-uki.efi',
    ]);
    assert.deepEqual(sb.pxe, {
      path: 'metal-amd64-secureboot',
      uses: ['cmdline-metal-amd64-secureboot', 'metal-amd64-secureboot-uki.efi'],
    });
    assert.deepEqual(
      [sb.installer.image, sb.installer.asset?.file],
      ['metal-installer-secureboot', 'installer-amd64-secureboot.tar'],
    );
    assert.deepEqual(
      sb.groups.map((g) => g.title),
      ['Secure Boot ISO', 'Secure Boot disk image', 'Kernel, initramfs, command line and UKI'],
    );
  });

  it('clouds follow the platform table (default suffix, boot methods); SBCs get the metal arm64 disk image', () => {
    const aws = offer('aws', 'arm64', false, 'v1.10.6');
    assert.deepEqual(files(aws).slice(0, 1), ['aws-arm64.raw.xz']);
    assert.ok(!files(aws).some((f) => f.endsWith('.iso') || f.endsWith('.qcow2')));
    assert.equal(aws.pxe, undefined);
    assert.deepEqual(
      [aws.installer.image, aws.installer.asset?.file],
      ['aws-installer', 'aws-installer-arm64.tar'],
    );
    // Before 1.10 there is one installer for every platform.
    assert.deepEqual(
      [
        offer('aws', 'amd64', false, 'v1.8.3').installer.image,
        offer('aws', 'amd64', false, 'v1.8.3').installer.asset?.file,
      ],
      ['installer', 'installer-amd64.tar'],
    );
    assert.deepEqual(files(offer('gcp', 'amd64', false, 'v1.10.6')).slice(0, 1), ['gcp-amd64.raw.tar.gz']);
    assert.deepEqual(files(offer('vmware', 'amd64', false, 'v1.10.6')).slice(0, 2), [
      'vmware-amd64.ova',
      'vmware-amd64.iso',
    ]);
    const azure = offer('azure', 'amd64', true, 'v1.10.6');
    assert.deepEqual(files(azure).slice(0, 1), ['azure-amd64-secureboot.vhd.xz']);
    const vultr = offer('vultr', 'amd64', false, 'v1.8.3');
    assert.ok(files(vultr).includes('vultr-amd64.iso'));
    assert.equal(vultr.pxe?.path, 'vultr-amd64');
    const sbc = offer('metal', 'arm64', false, 'v1.10.6', true);
    assert.deepEqual(files(sbc), ['metal-arm64.raw.xz']);
    assert.equal(sbc.pxe, undefined);
    assert.deepEqual(
      [sbc.installer.image, sbc.installer.asset?.file],
      ['metal-installer', 'installer-arm64.tar'],
    );
    assert.equal(
      installerReference('https://f.example:8443/x/', 'installer', 'id', 'v1.8.3'),
      'f.example:8443/installer/id:v1.8.3',
    );
  });

  it('every offered file parses with the path grammar, for every listed platform, arch and fixture-like version', () => {
    for (const v of ['v1.5.5', 'v1.8.3', 'v1.10.6', 'v1.11.0-beta.1']) {
      for (const p of cloudPlatforms(v).concat(findPlatform('metal')!)) {
        for (const arch of p.architectures) {
          for (const sb of p.secureBoot ? [false, true] : [false]) {
            const o = offerFor({ platform: p, arch, secureBoot: sb, board: false, quirks: quirks(v) });
            const all = [...files(o), ...(o.pxe?.uses ?? []), o.installer.asset?.file ?? ''];
            for (const f of all) {
              const req = parseAssetPath(f);
              assert.equal(req.secureBoot, sb && !['kernel', 'initramfs'].includes(req.kind), `${f}`);
              assert.equal(req.arch, arch, f);
            }
          }
        }
      }
    }
  });

  it('cloud platforms honour their first version', () => {
    assert.ok(!cloudPlatforms('v1.5.5').some((p) => p.name === 'akamai'));
    assert.ok(cloudPlatforms('v1.8.3').some((p) => p.name === 'akamai'));
    assert.ok(!cloudPlatforms('v1.8.3').some((p) => p.name === 'metal' || !p.listed));
  });
});

describe('status wording', () => {
  it('says what the state knows; the elapsed time stays beside the text', () => {
    assert.equal(
      statusText({ state: 'ready', size: 3 * 1024 * 1024 + 200_000, sha256: 'x' }),
      'Ready · 3.2 MiB',
    );
    assert.equal(statusText({ state: 'ready', size: 512, sha256: 'x' }), 'Ready · 512 B');
    assert.equal(statusText({ state: 'idle' }), 'Not built yet');
    assert.equal(
      statusText({ state: 'queued', position: 2, kind: 'iso', dependency: 'initramfs' }),
      'Queued (position 2) (its initramfs first)',
    );
    assert.equal(statusText({ state: 'queued', position: 0, kind: 'iso', dependency: undefined }), 'Queued');
    const building = {
      state: 'building',
      kind: 'initramfs',
      dependency: undefined,
      step: 'mksquashfs siderolabs/drbd',
      elapsedMs: 65_400,
    } as const;
    assert.equal(statusText(building), 'Building: mksquashfs siderolabs/drbd');
    assert.equal(elapsedText(building), ' · 1 min 5 s');
    assert.equal(elapsedText({ state: 'idle' }), '');
    assert.equal(
      statusText({ state: 'failed', code: 'BUILD_FAILED', message: 'xz exited 1', dependency: undefined }),
      'Failed: xz exited 1',
    );
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
    assert.equal(formatElapsed(999), '0 s');
  });
});

describe('renderers with hostile catalog text', () => {
  const assertInert = (page: string) => {
    assert.doesNotMatch(page, /<script>|<img|<b>board/, 'markup from the catalog must stay text');
    assert.match(page, /&lt;script&gt;/);
  };

  it('extensions step: descriptions, authors and names are escaped; metal-agent is hidden', async () => {
    const state = parseState({
      target: 'metal',
      version: '1.10.6',
      arch: 'amd64',
      step: 'extensions',
      extensions: ['siderolabs/zfs', 'x/unknown'],
    });
    const r = await resolveFlow(state, data(), NO_SB);
    assert.equal(r.step, 'extensions');
    const page = flat(
      renderShell({
        title: 't',
        assets: { css: 'c', js: 'j', icon: 'i' },
        factoryVersion: '0',
        body: renderStep('extensions', r.context).body,
      }),
    );
    assertInert(page);
    assert.doesNotMatch(page, /metal-agent/);
    assert.match(page, /value="x\/unknown" checked/);
    assert.match(page, /value="siderolabs\/zfs" checked/);
    assert.match(page, /value="evil\/&quot;&gt;&lt;script&gt;"/);
    // IDs derived from names never carry their markup.
    for (const m of page.matchAll(/ id="([^"]*)"/g)) assert.match(m[1]!, /^[a-z0-9-]+$/);
    assert.deepEqual(
      listedCatalog(await data().extensionCatalog('')).map((e) => e.name),
      ['evil/"><script>', 'siderolabs/amd-ucode', 'siderolabs/zfs'],
    );
  });

  it('the no-JS search keeps selected entries and matches descriptions', async () => {
    const state = parseState({
      target: 'metal',
      version: '1.10.6',
      arch: 'amd64',
      step: 'extensions',
      q: 'zfs',
      extensions: 'siderolabs/amd-ucode',
    });
    const r = await resolveFlow(state, data(), NO_SB);
    const body = flat(renderStep('extensions', r.context).body);
    assert.match(body, /siderolabs\/zfs/);
    assert.match(body, /siderolabs\/amd-ucode/, 'selected, so shown although it does not match');
    assert.doesNotMatch(body, /evil\//);
    assert.match(body, /2 of 3 extensions shown, 1 selected/);
  });

  it('board step and final page escape overlay names and images; only what planned is linked, with its status', async () => {
    const state = parseState({ target: 'sbc', version: '1.10.6', step: 'board' });
    const r = await resolveFlow(state, data(), NO_SB);
    assertInert(flat(renderStep('board', r.context).body));
    const offer = offerFor({
      platform: findPlatform('metal')!,
      arch: 'arm64',
      secureBoot: false,
      board: true,
      quirks: quirks('v1.10.6'),
    });
    const body = flat(
      renderFinal({
        id: 'a'.repeat(64),
        canonical: `overlay:\n    image: ${HOSTILE}\n`,
        versionTag: 'v1.10.6',
        summary: HOSTILE,
        offer,
        availability: new Map<string, Availability>([
          [
            'metal-arm64.raw.xz',
            {
              ok: true,
              status: {
                state: 'building',
                kind: 'image',
                dependency: 'initramfs',
                step: HOSTILE,
                elapsedMs: 3000,
              },
            },
          ],
          ['installer-arm64.tar', { ok: false, code: 'NOT_IMPLEMENTED', reason: `no ${HOSTILE}` }],
        ]),
        externalURL: 'http://f.example/',
        externalPXEURL: 'http://p.example/',
        editHref: './?schematic-id=x',
      }),
    );
    assertInert(body);
    assert.match(body, /href="http:\/\/f\.example\/image\/a{64}\/v1\.10\.6\/metal-arm64\.raw\.xz"/);
    assert.match(body, /href="http:\/\/f\.example\/image\/a{64}\/v1\.10\.6\/metal-arm64\.raw\.xz\.sha256"/);
    assert.match(
      body,
      /class="asset-status state-building" data-asset-path="metal-arm64\.raw\.xz" data-status-url="status\/a{64}\/v1\.10\.6\/metal-arm64\.raw\.xz" data-state="building"/,
      'a status element per linked asset, with its stream URL (relative: same origin)',
    );
    assert.match(body, /Building \(its initramfs first\): &lt;script&gt;/);
    assert.match(body, /<span class="elapsed"> · 3 s<\/span>/);
    assert.match(
      body,
      /<button type="button" class="build secondary" data-build="metal-arm64\.raw\.xz"[^>]* hidden\s*>/,
    );
    // The archive did not plan: the reference stays (for pulls), the reason is said, nothing is linked.
    assert.doesNotMatch(body, /installer-arm64\.tar"/);
    assert.match(body, /This factory cannot build it: no &lt;script&gt;/);
    assert.match(body, /f\.example\/metal-installer\/a{64}:v1\.10\.6/);
  });

  it('final page: an unplanned or unavailable asset is never a link; the PXE script only when all it boots is', () => {
    const offer = offerFor({
      platform: findPlatform('metal')!,
      arch: 'amd64',
      secureBoot: false,
      board: false,
      quirks: quirks('v1.8.3'),
    });
    const ready: Availability = { ok: true, status: { state: 'ready', size: 2048, sha256: 'x' } };
    const render = (availability: Map<string, Availability>) =>
      flat(
        renderFinal({
          id: 'b'.repeat(64),
          canonical: 'customization: {}\n',
          versionTag: 'v1.8.3',
          summary: 's',
          offer,
          availability,
          externalURL: 'http://f.example/',
          externalPXEURL: 'http://p.example/',
          editHref: './',
        }),
      );
    const some = render(
      new Map<string, Availability>([
        ['kernel-amd64', ready],
        ['cmdline-metal-amd64', ready],
        ['initramfs-amd64.xz', { ok: false, code: 'BUILD_FAILED', reason: 'broken initramfs' }],
      ]),
    );
    assert.match(some, /href="[^"]*\/kernel-amd64"/);
    assert.match(some, /Ready · 2\.0 KiB/);
    assert.doesNotMatch(some, /href="[^"]*\/initramfs-amd64\.xz"/);
    assert.doesNotMatch(some, /href="[^"]*\/metal-amd64\.iso"/, 'not planned: not linked');
    assert.match(
      some,
      /<code>http:\/\/p\.example\/pxe\/b{64}\/v1\.8\.3\/metal-amd64<\/code> <span class="unavailable">not available <span class="hint">\(broken initramfs\)/,
    );
    const all = render(
      new Map(['kernel-amd64', 'cmdline-metal-amd64', 'initramfs-amd64.xz'].map((f) => [f, ready])),
    );
    assert.match(all, /iPXE script: <a href="http:\/\/p\.example\/pxe\/b{64}\/v1\.8\.3\/metal-amd64">/);
  });

  it('flow: errors only for submitted steps; SBC versions start at 1.7; secure boot only where offered', async () => {
    const d = data();
    assert.equal((await resolveFlow(parseState({}), d, NO_SB)).error, undefined);
    const skipped = await resolveFlow(parseState({ step: 'version' }), d, NO_SB);
    assert.deepEqual([skipped.step, skipped.error], ['target', 'Choose what you want to boot.']);
    const sbcOld = await resolveFlow(
      parseState({ target: 'sbc', version: '1.5.5', step: 'board' }),
      d,
      NO_SB,
    );
    assert.equal(sbcOld.step, 'version');
    assert.match(sbcOld.error ?? '', /single-board computers/);
    assert.deepEqual(sbcOld.context.targetVersions, ['v1.11.0-beta.1', 'v1.10.6', 'v1.8.3']);
    assert.equal(sbcOld.context.defaultVersion, 'v1.10.6', 'newest stable');
    const sbAws = await resolveFlow(
      parseState({
        target: 'cloud',
        version: '1.10.6',
        platform: 'aws',
        arch: 'amd64',
        secureboot: 'true',
        step: 'extensions',
      }),
      d,
      { secureBoot: true },
    );
    assert.equal(sbAws.step, 'arch');
    assert.match(sbAws.error ?? '', /Secure Boot is not available for Amazon Web Services/);
    // Metal offers Secure Boot from Talos 1.5 — only on a factory with a signing key.
    const sbMetal = (secureBoot: boolean, version = '1.10.6') =>
      resolveFlow(
        parseState({ target: 'metal', version, arch: 'amd64', secureboot: 'true', step: 'extensions' }),
        d,
        { secureBoot },
      );
    const withKey = await sbMetal(true);
    assert.deepEqual(
      [withKey.step, withKey.error, withKey.context.secureBoot],
      ['extensions', undefined, true],
    );
    const noKey = await sbMetal(false);
    assert.equal(noKey.step, 'arch');
    assert.match(noKey.error ?? '', /no Secure Boot signing key configured/);
    assert.equal(noKey.context.secureBootOffered, false);
    const archPage = flat(renderStep('arch', noKey.context).body);
    assert.doesNotMatch(archPage, /name="secureboot"/, 'no Secure Boot choice without a key');
    assert.match(archPage, /no Secure Boot signing key configured/);
    assert.match(flat(renderStep('arch', withKey.context).body), /name="secureboot"/);
    assert.equal((await sbMetal(true, '1.8.3')).step, 'extensions');
    const final = await resolveFlow(
      parseState({ target: 'metal', version: '1.10.6', arch: 'amd64', cmdline: 'a', step: 'final' }),
      d,
      NO_SB,
    );
    assert.equal(final.step, 'final');
    assert.equal(final.context.document, 'customization:\n  extraKernelArgs:\n    - "a"\n');
    const boot = await resolveFlow(
      parseState({ target: 'metal', version: '1.10.6', arch: 'amd64', bootloader: 'grub', step: 'final' }),
      d,
      NO_SB,
    );
    assert.deepEqual(
      [boot.step, boot.error],
      ['customize', 'Choosing the bootloader needs Talos 1.12 or later.'],
    );
  });
});
