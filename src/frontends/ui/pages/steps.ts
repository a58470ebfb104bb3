/**
 * The wizard's step pages (everything before the final page). Each is a GET form: its controls
 * plus the rest of the state in hidden fields, so the page works without JavaScript and every
 * URL can be shared. Catalog text (extension descriptions, overlay names) is untrusted and goes
 * through the `html` template's escaping like everything else.
 */
import { tryParseTalosVersion } from '../../../profile/version.js';
import type { ExtensionEntry } from '../../../release/catalog.js';
import { BOOTLOADERS, TARGETS, type FlowContext } from '../flow.js';
import { attrIf, html, type SafeHtml } from '../html.js';
import type { StepName } from '../state.js';
import { stepForm } from './layout.js';

/** A step page's title and body. */
export interface StepView {
  readonly title: string;
  readonly body: SafeHtml;
}

type StepRenderer = (ctx: FlowContext) => StepView;

function form(ctx: FlowContext, step: StepName, controls: SafeHtml, nextLabel?: string): SafeHtml {
  return stepForm({
    state: ctx.state,
    steps: ctx.steps,
    step,
    controls,
    ...(nextLabel ? { nextLabel } : {}),
  });
}

/** A radio choice with a label and an optional hint tied to it by aria-describedby. */
function radio(
  name: string,
  id: string,
  value: string,
  checked: boolean,
  label: SafeHtml | string,
  hint?: string,
) {
  const hintId = hint ? `${id}-hint` : undefined;
  return html`<li class="choice">
    <input
      type="radio"
      name="${name}"
      id="${id}"
      value="${value}"
      ${attrIf(checked, 'checked')}${hintId ? html` aria-describedby="${hintId}"` : undefined}
      required
    />
    <label for="${id}">${label}</label
    >${hint ? html`<span class="hint" id="${hintId}">${hint}</span>` : undefined}
  </li> `;
}

/** Element IDs derived from untrusted names: only [a-z0-9-] survive, an index keeps them unique. */
function safeId(prefix: string, i: number, name: string): string {
  return `${prefix}-${i}-${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)}`;
}

const target: StepRenderer = (ctx) => ({
  title: 'What do you want to boot?',
  body: form(
    ctx,
    'target',
    html`<fieldset>
      <legend>Target</legend>
      <ul class="choices">
        ${TARGETS.map((t) => radio('target', `target-${t.value}`, t.value, ctx.state.target === t.value, t.label, t.hint))}
      </ul>
    </fieldset>`,
  ),
});

const version: StepRenderer = (ctx) => {
  const chosen = ctx.state.version !== '' ? `v${ctx.state.version}` : ctx.defaultVersion;
  const options = ctx.targetVersions.map((v) => {
    const pre = (tryParseTalosVersion(v)?.prerelease.length ?? 0) > 0;
    return html`<option value="${v.slice(1)}" ${attrIf(v === chosen, 'selected')}>
      ${v}${pre ? ' (pre-release)' : ''}
    </option> `;
  });
  const note =
    ctx.state.target === 'sbc'
      ? html`<p class="hint" id="version-hint">Single-board computers need Talos 1.7 or later (overlays).</p>`
      : html`<p class="hint" id="version-hint">The newest stable release is preselected.</p>`;
  return {
    title: 'Talos Linux version',
    body: form(
      ctx,
      'version',
      html`<div class="field">
        <label for="version">Talos version</label>
        <select id="version" name="version" aria-describedby="version-hint" required>
          ${options}</select
        >${note}
      </div>`,
    ),
  };
};

const platform: StepRenderer = (ctx) => ({
  title: 'Cloud platform',
  body: form(
    ctx,
    'platform',
    html`<fieldset>
      <legend>Platform for Talos ${ctx.versionTag}</legend>
      <ul class="choices columns">
        ${(ctx.platforms ?? []).map((p) =>
          radio(
            'platform',
            `platform-${p.name}`,
            p.name,
            ctx.state.platform === p.name,
            html`${p.label} <code>${p.name}</code>`,
          ),
        )}
      </ul>
    </fieldset>`,
  ),
});

const board: StepRenderer = (ctx) => {
  const overlays = ctx.overlays ?? [];
  const list =
    overlays.length === 0
      ? html`<p>No single-board computer overlays are published for Talos ${ctx.versionTag}.</p>`
      : html`<ul class="choices columns">
          ${overlays.map((o, i) =>
            radio(
              'board',
              safeId('board', i, o.name),
              o.name,
              ctx.state.board === o.name,
              o.name,
              `overlay ${o.image}`,
            ),
          )}
        </ul>`;
  return {
    title: 'Single-board computer',
    body: form(
      ctx,
      'board',
      html`<fieldset>
        <legend>Board (overlay) for Talos ${ctx.versionTag}</legend>
        ${list}
      </fieldset>`,
    ),
  };
};

const arch: StepRenderer = (ctx) => {
  const p = ctx.platform;
  const archs = p?.architectures ?? [];
  const chosen = ctx.state.arch !== '' ? ctx.state.arch : archs[0];
  const sb = ctx.secureBootOffered
    ? html`<fieldset>
        <legend>Secure Boot</legend>
        <div class="choice">
          <input
            type="checkbox"
            id="secureboot"
            name="secureboot"
            value="true"
            ${attrIf(ctx.state.secureBoot, 'checked')}
            aria-describedby="secureboot-hint"
          />
          <label for="secureboot">Secure Boot images (signed UKI)</label>
          <span class="hint" id="secureboot-hint"
            >The firmware must trust this factory's signing key (enrolled from the ISO, or by hand).</span
          >
        </div>
      </fieldset>`
    : html`<p class="hint">${ctx.secureBootWhyNot ?? ''}</p>`;
  return {
    title: 'Architecture',
    body: form(
      ctx,
      'arch',
      html`<fieldset>
          <legend>CPU architecture for ${p?.label ?? ''}</legend>
          <ul class="choices">
            ${archs.map((a) => radio('arch', `arch-${a}`, a, chosen === a, a, a === 'amd64' ? 'x86-64 (Intel, AMD)' : 'AArch64 (ARM 64-bit)'))}
          </ul>
        </fieldset>
        ${sb}`,
    ),
  };
};

function matches(e: ExtensionEntry, q: string): boolean {
  return e.name.toLowerCase().includes(q) || e.description.toLowerCase().includes(q);
}

const extensions: StepRenderer = (ctx) => {
  const catalog = ctx.catalog ?? [];
  const selected = new Set(ctx.state.extensions);
  const q = ctx.state.search.toLowerCase();
  // The no-JS search: matching entries plus the selected ones (a selection is never hidden).
  const shown = catalog.filter((e) => q === '' || selected.has(e.name) || matches(e, q));
  const known = new Set(catalog.map((e) => e.name));
  const unknown = ctx.state.extensions.filter((e) => !known.has(e));
  const item = (e: { name: string; description: string; author: string }, i: number, missing: boolean) => {
    const id = safeId('ext', i, e.name);
    const desc = missing ? 'Not in this version’s catalog.' : e.description || 'No description.';
    return html`<li class="ext" data-search="${`${e.name} ${e.description}`.toLowerCase()}">
      <input
        type="checkbox"
        name="extensions"
        id="${id}"
        value="${e.name}"
        ${attrIf(selected.has(e.name), 'checked')}
        aria-describedby="${id}-desc"
      />
      <label for="${id}">${e.name}</label
      ><span class="hint" id="${id}-desc"
        >${desc}${e.author && !missing ? html` <span class="author">— ${e.author}</span>` : undefined}</span
      >
    </li> `;
  };
  const items = [
    ...unknown.map((name, i) => item({ name, description: '', author: '' }, i, true)),
    ...shown.map((e, i) => item(e, i + unknown.length, false)),
  ];
  return {
    title: 'System extensions',
    body: form(
      ctx,
      'extensions',
      html`<div class="field search">
          <label for="ext-search">Search extensions</label>
          <div class="inline">
            <input
              type="search"
              id="ext-search"
              name="q"
              value="${ctx.state.search}"
              autocomplete="off"
              aria-controls="ext-list"
              aria-describedby="ext-count"
            />
            <button type="submit" name="step" value="extensions" class="secondary">Search</button>
          </div>
          <p class="hint" id="ext-count" aria-live="polite" data-total="${catalog.length}">
            ${shown.length} of ${catalog.length} extensions
            shown${selected.size > 0 ? `, ${selected.size} selected` : ''}.
          </p>
        </div>
        <fieldset>
          <legend>Extensions for Talos ${ctx.versionTag}</legend>
          <ul class="extensions" id="ext-list">
            ${items}
          </ul>
        </fieldset>`,
    ),
  };
};

const customize: StepRenderer = (ctx) => {
  const s = ctx.state;
  const bootloader = ctx.bootloaderOffered
    ? html`<div class="field">
        <label for="bootloader">Bootloader</label>
        <select id="bootloader" name="bootloader" aria-describedby="bootloader-hint">
          ${BOOTLOADERS.map((b) => html`<option value="${b}" ${attrIf(s.bootloader === b, 'selected')}>${b === 'auto' ? 'auto (Talos default)' : b}</option> `)}
        </select>
        <p class="hint" id="bootloader-hint">Applies to ISO and disk images.</p>
      </div>`
    : undefined;
  const overlay = ctx.board
    ? html`<div class="field">
        <label for="overlay-options">Overlay options (YAML)</label>
        <textarea
          id="overlay-options"
          name="overlay-options"
          rows="5"
          spellcheck="false"
          aria-describedby="overlay-hint"
        >
${s.overlayOptions}</textarea>
        <p class="hint" id="overlay-hint">
          A YAML mapping passed to the ${ctx.board.name} overlay, e.g.
          <code>configTxtAppend: dtoverlay=vc4-kms-v3d</code>.
        </p>
      </div>`
    : undefined;
  return {
    title: 'Customization',
    body: form(
      ctx,
      'customize',
      html`<div class="field">
          <label for="cmdline">Extra kernel arguments</label>
          <input
            type="text"
            id="cmdline"
            name="cmdline"
            value="${s.cmdline}"
            spellcheck="false"
            autocomplete="off"
            aria-describedby="cmdline-hint"
          />
          <p class="hint" id="cmdline-hint">
            Separated by spaces, e.g. <code>net.ifnames=0 console=ttyS1</code>. A leading
            <code>-</code> removes a default argument.
          </p>
        </div>
        <div class="field">
          <label for="meta">META values</label>
          <textarea id="meta" name="meta" rows="3" spellcheck="false" aria-describedby="meta-hint">
${s.meta}</textarea>
          <p class="hint" id="meta-hint">
            One <code>KEY=VALUE</code> per line, KEY 0–255 (e.g. <code>0xa=…</code> for the network
            configuration).
          </p>
        </div>
        ${bootloader}${overlay}`,
      'Create schematic',
    ),
  };
};

const RENDERERS: Readonly<Record<Exclude<StepName, 'final'>, StepRenderer>> = {
  target,
  version,
  platform,
  board,
  arch,
  extensions,
  customize,
};

/** Renders the page of a step before the final one. */
export function renderStep(step: Exclude<StepName, 'final'>, ctx: FlowContext): StepView {
  return RENDERERS[step](ctx);
}
