/**
 * The final page: the schematic (ID, canonical YAML, a `curl` line that recreates it), a link for
 * every asset the platform and version offer (with its `.sha256`), the PXE script URL and iPXE
 * snippet, and the installer image reference with its archive. Only what this factory can
 * deliver is linked (each file was planned, see `availability.ts`); the rest is listed as
 * unavailable with the reason. Every linked asset row carries an `.asset-status` element with the
 * build status at page time and the URL of its status stream, plus a "Build now" button that
 * `wizard.js` shows and runs (progressive enhancement: without JavaScript the links work alone).
 */
import { joinUrlPath } from '../../../profile/url-join.js';
import type { Availability } from '../availability.js';
import { html, type HtmlValue, type SafeHtml } from '../html.js';
import type { AssetOffer, Offer } from '../offer.js';
import { elapsedText, statusText } from '../status-text.js';

/** What the final page shows. */
export interface FinalView {
  readonly id: string;
  readonly canonical: string;
  readonly versionTag: string;
  /** e.g. `Bare Metal, amd64, Secure Boot`. */
  readonly summary: string;
  readonly offer: Offer;
  /** Every offered file (assets, the PXE script's inputs), planned: what is linked and what is not. */
  readonly availability: ReadonlyMap<string, Availability>;
  readonly externalURL: string;
  readonly externalPXEURL: string;
  /** Relative link that re-opens the wizard from this schematic. */
  readonly editHref: string;
}

/** A heredoc delimiter that no line of `text` equals. */
function delimiter(text: string): string {
  const lines = new Set(text.split('\n'));
  let d = 'EOF';
  for (let i = 1; lines.has(d); i++) d = `EOF${i}`;
  return d;
}

/** The shell command that recreates the schematic through `POST /schematics`. */
export function curlCommand(externalURL: string, canonical: string): string {
  const d = delimiter(canonical);
  const body = canonical.endsWith('\n') ? canonical : `${canonical}\n`;
  return `curl -X POST --data-binary @- ${joinUrlPath(externalURL, 'schematics')} <<'${d}'\n${body}${d}\n`;
}

/** The iPXE snippet that chain-loads the factory's script. */
export function ipxeSnippet(scriptUrl: string): string {
  return `#!ipxe\nchain --replace --autofree ${scriptUrl}\n`;
}

/** The installer image reference: `<host>/<repository>/<id>:<version>`. */
export function installerReference(
  externalURL: string,
  image: string,
  id: string,
  versionTag: string,
): string {
  return `${new URL(externalURL).host}/${image}/${id}:${versionTag}`;
}

/** A `<pre>` with a copy button (the button appears only with JavaScript). */
function copyBlock(id: string, label: string, text: string): SafeHtml {
  return html`<div class="copy-block">
    <pre id="${id}" tabindex="0" role="region" aria-label="${label}"><code>${text}</code></pre>
    <button type="button" class="copy secondary" data-copy="${id}" hidden>Copy ${label}</button>
  </div>`;
}

function unavailable(reason: string): SafeHtml {
  return html`<span class="unavailable">not available <span class="hint">(${reason})</span></span>`;
}

const NOT_PLANNED: Availability = { ok: false, code: 'INTERNAL', reason: 'not checked' };

/** Renders the final page body. */
export function renderFinal(v: FinalView): SafeHtml {
  const image = (file: string) => joinUrlPath(v.externalURL, 'image', v.id, v.versionTag, file);
  // Relative to the page, like its static files: the stream is same-origin (CSP connect-src 'self').
  const statusUrl = (file: string) => `status/${v.id}/${v.versionTag}/${file}`;
  const availability = (file: string) => v.availability.get(file) ?? NOT_PLANNED;

  const row = (a: AssetOffer): SafeHtml => {
    const got = availability(a.file);
    if (!got.ok) {
      return html`<li data-asset-path="${a.file}" class="off">
        <span class="label">${a.label}</span> <code class="file">${a.file}</code>
        ${unavailable(got.reason)}
      </li> `;
    }
    return html`<li data-asset-path="${a.file}">
      <a href="${image(a.file)}" download>${a.label}</a> <code class="file">${a.file}</code>
      <a class="sum" href="${image(`${a.file}.sha256`)}" aria-label="sha256 of ${a.file}">sha256</a>
      <span class="live">
        <span
          class="asset-status state-${got.status.state}"
          data-asset-path="${a.file}"
          data-status-url="${statusUrl(a.file)}"
          data-state="${got.status.state}"
          ><span class="status-text" role="status">${statusText(got.status)}</span
          ><span class="elapsed">${elapsedText(got.status)}</span></span
        >
        <button
          type="button"
          class="build secondary"
          data-build="${a.file}"
          aria-label="Build now: ${a.file}"
          hidden
        >
          Build now
        </button>
      </span>
    </li> `;
  };
  const groups: HtmlValue = v.offer.groups.map(
    (g) =>
      html`<section class="group">
        <h3>${g.title}</h3>
        <ul class="assets">
          ${g.assets.map(row)}
        </ul>
      </section>`,
  );

  const pxe = v.offer.pxe;
  const pxeUrl = pxe ? joinUrlPath(v.externalPXEURL, 'pxe', v.id, v.versionTag, pxe.path) : '';
  const pxeBlocked = pxe?.uses.map(availability).find((a) => !a.ok);
  const pxeSection: HtmlValue = pxe
    ? html`<section aria-labelledby="pxe-h">
        <h2 id="pxe-h">PXE boot</h2>
        ${
          pxeBlocked && !pxeBlocked.ok
            ? html`<p><code>${pxeUrl}</code> ${unavailable(pxeBlocked.reason)}</p>`
            : html`<p>iPXE script: <a href="${pxeUrl}">${pxeUrl}</a></p>
                ${copyBlock('ipxe', 'iPXE snippet', ipxeSnippet(pxeUrl))}`
        }
      </section>`
    : undefined;

  const installer = v.offer.installer;
  const ref = installerReference(v.externalURL, installer.image, v.id, v.versionTag);
  const archive = installer.asset;
  const archiveState = archive ? availability(archive.file) : undefined;
  return html`<p class="summary">Talos <strong>${v.versionTag}</strong> · ${v.summary}</p>
    <section aria-labelledby="schematic-h">
      <h2 id="schematic-h">Schematic</h2>
      <p>
        ID: <code class="id" id="schematic-id">${v.id}</code>
        <button type="button" class="copy secondary" data-copy="schematic-id" hidden>Copy ID</button>
      </p>
      ${copyBlock('schematic-yaml', 'schematic YAML', v.canonical)}
      <p>Recreate it anywhere with:</p>
      ${copyBlock('curl', 'curl command', curlCommand(v.externalURL, v.canonical))}
      <p><a href="${v.editHref}">Start over from this schematic</a></p>
    </section>
    <section aria-labelledby="assets-h">
      <h2 id="assets-h">Boot assets</h2>
      <p class="hint">
        Built on the first download, then cached; each row says where its build stands. Every asset has a
        <code>.sha256</code> (and <code>.sha512</code>) file beside it.
      </p>
      ${groups}
    </section>
    ${pxeSection}
    <section aria-labelledby="installer-h">
      <h2 id="installer-h">Installer image</h2>
      <p>For <code>machine.install.image</code> and <code>talosctl upgrade --image</code>:</p>
      ${copyBlock('installer', 'installer image reference', ref)}
      ${
        archiveState && !archiveState.ok
          ? html`<p class="hint">This factory cannot build it: ${archiveState.reason}</p>`
          : undefined
      }
      ${
        archive && archiveState?.ok
          ? html`<ul class="assets">
              ${row(archive)}
            </ul>`
          : undefined
      }
    </section>`;
}
