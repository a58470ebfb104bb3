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
import { attrIf, escapeHtml, html, join } from '../../src/frontends/ui/html.js';
import { offerFor } from '../../src/frontends/ui/offer.js';
import { curlCommand, installerReference, renderFinal } from '../../src/frontends/ui/pages/final.js';
import { hiddenState, renderShell } from '../../src/frontends/ui/pages/layout.js';
import { renderStep } from '../../src/frontends/ui/pages/steps.js';
import {
  EMPTY_STATE,
  parseState,
  stateParams,
  stepHref,
  withState,
  type WizardState,
} from '../../src/frontends/ui/state.js';
import type { AssetKind } from '../../src/profile/build-request.js';
import { findPlatform } from '../../src/profile/platforms.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';
import type { ExtensionEntry } from '../../src/release/catalog.js';
import { createSchematic } from '../../src/schematic/index.js';

/** Rendered HTML with whitespace runs collapsed (as a browser shows it). */
const flat = (h: unknown) => String(h).replace(/\s+/g, ' ');
const HOSTILE = `<script>alert("x")</script><img src=x onerror='y'>&amp;`;
const quirks = (v: string) => deriveQuirks(parseTalosVersion(v));
const TODAY = new Set<AssetKind>(['kernel', 'cmdline', 'initramfs']);
const supports = (k: AssetKind) => TODAY.has(k);

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
    offerFor({ platform: findPlatform(platform)!, arch, secureBoot, board, quirks: quirks(v), supports });
  const files = (o: ReturnType<typeof offer>) =>
    o.groups.flatMap((g) => g.assets.map((a) => `${a.file}${a.available ? '' : ' (off)'}`));

  it('metal: ISO, disk image, kernel/initramfs/cmdline, PXE; UKI from 1.10 or with secure boot', () => {
    const m = offer('metal', 'amd64', false, 'v1.8.3');
    assert.deepEqual(files(m), [
      'metal-amd64.iso (off)',
      'metal-amd64.raw.zst (off)',
      'kernel-amd64',
      'initramfs-amd64.xz',
      'cmdline-metal-amd64',
    ]);
    assert.deepEqual(m.pxe, { path: 'metal-amd64', available: true });
    assert.equal(m.installerImage, 'installer');
    const sb = offer('metal', 'amd64', true, 'v1.10.6');
    assert.ok(files(sb).includes('metal-amd64-secureboot-uki.efi (off)'));
    assert.ok(files(sb).includes('cmdline-metal-amd64-secureboot'));
    assert.deepEqual(
      sb.pxe,
      { path: 'metal-amd64-secureboot', available: false },
      'the UKI it boots is missing',
    );
    assert.equal(sb.installerImage, 'metal-installer-secureboot');
    assert.ok(files(offer('metal', 'arm64', false, 'v1.10.6')).includes('metal-arm64-uki.efi (off)'));
  });

  it('clouds follow the platform table; SBCs get the metal arm64 disk image', () => {
    const aws = offer('aws', 'arm64', false, 'v1.10.6');
    assert.ok(files(aws).includes('aws-arm64.raw.xz (off)'));
    assert.ok(!files(aws).some((f) => f.endsWith('.iso')));
    assert.equal(aws.pxe, undefined);
    assert.equal(aws.installerImage, 'aws-installer');
    assert.ok(files(offer('vultr', 'amd64', false, 'v1.8.3')).includes('vultr-amd64.iso (off)'));
    const sbc = offer('metal', 'arm64', false, 'v1.10.6', true);
    assert.deepEqual(files(sbc).slice(0, 1), ['metal-arm64.raw.xz (off)']);
    assert.equal(sbc.pxe, undefined);
    assert.equal(sbc.installerImage, 'metal-installer');
    assert.equal(
      installerReference('https://f.example:8443/x/', 'installer', 'id', 'v1.8.3'),
      'f.example:8443/installer/id:v1.8.3',
    );
  });

  it('cloud platforms honour their first version', () => {
    assert.ok(!cloudPlatforms('v1.5.5').some((p) => p.name === 'akamai'));
    assert.ok(cloudPlatforms('v1.8.3').some((p) => p.name === 'akamai'));
    assert.ok(!cloudPlatforms('v1.8.3').some((p) => p.name === 'metal' || !p.listed));
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
    const r = await resolveFlow(state, data());
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
    const r = await resolveFlow(state, data());
    const body = flat(renderStep('extensions', r.context).body);
    assert.match(body, /siderolabs\/zfs/);
    assert.match(body, /siderolabs\/amd-ucode/, 'selected, so shown although it does not match');
    assert.doesNotMatch(body, /evil\//);
    assert.match(body, /2 of 3 extensions shown, 1 selected/);
  });

  it('board step and final page escape overlay names and images', async () => {
    const state = parseState({ target: 'sbc', version: '1.10.6', step: 'board' });
    const r = await resolveFlow(state, data());
    assertInert(flat(renderStep('board', r.context).body));
    const body = flat(
      renderFinal({
        id: 'a'.repeat(64),
        canonical: `overlay:\n    image: ${HOSTILE}\n`,
        versionTag: 'v1.10.6',
        summary: HOSTILE,
        offer: offerFor({
          platform: findPlatform('metal')!,
          arch: 'arm64',
          secureBoot: false,
          board: true,
          quirks: quirks('v1.10.6'),
          supports,
        }),
        externalURL: 'http://f.example/',
        externalPXEURL: 'http://p.example/',
        installerServed: false,
        editHref: './?schematic-id=x',
      }),
    );
    assertInert(body);
    assert.doesNotMatch(body, /href="[^"]*metal-arm64\.raw\.xz"/, 'unavailable assets are never links');
    assert.match(body, /href="http:\/\/f\.example\/image\/a{64}\/v1\.10\.6\/kernel-arm64"/);
    assert.match(body, /href="http:\/\/f\.example\/image\/a{64}\/v1\.10\.6\/kernel-arm64\.sha256"/);
    assert.match(
      body,
      /class="asset-status" data-asset-path="kernel-arm64"/,
      'a status placeholder per asset',
    );
  });

  it('flow: errors only for submitted steps; SBC versions start at 1.7; secure boot only where offered', async () => {
    const d = data();
    assert.equal((await resolveFlow(parseState({}), d)).error, undefined);
    const skipped = await resolveFlow(parseState({ step: 'version' }), d);
    assert.deepEqual([skipped.step, skipped.error], ['target', 'Choose what you want to boot.']);
    const sbcOld = await resolveFlow(parseState({ target: 'sbc', version: '1.5.5', step: 'board' }), d);
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
    );
    assert.equal(sbAws.step, 'arch');
    assert.match(sbAws.error ?? '', /Secure Boot is not available/);
    const final = await resolveFlow(
      parseState({ target: 'metal', version: '1.10.6', arch: 'amd64', cmdline: 'a', step: 'final' }),
      d,
    );
    assert.equal(final.step, 'final');
    assert.equal(final.context.document, 'customization:\n  extraKernelArgs:\n    - "a"\n');
    const boot = await resolveFlow(
      parseState({ target: 'metal', version: '1.10.6', arch: 'amd64', bootloader: 'grub', step: 'final' }),
      d,
    );
    assert.deepEqual(
      [boot.step, boot.error],
      ['customize', 'Choosing the bootloader needs Talos 1.12 or later.'],
    );
  });
});
