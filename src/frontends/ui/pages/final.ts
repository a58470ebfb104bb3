/**
 * The final page: the schematic (ID, canonical YAML, a `curl` line that recreates it), a link for
 * every asset the platform and version offer (with its `.sha256`), the PXE script URL and iPXE
 * snippet, and the installer image reference. Assets whose builder has not landed are listed as
 * unavailable, never linked. Every asset row carries an empty `.asset-status` element (keyed by
 * its path) where live build status can be shown later, as progressive enhancement.
 */
import { joinUrlPath } from '../../../profile/url-join.js';
import { html, type HtmlValue, type SafeHtml } from '../html.js';
import type { Offer } from '../offer.js';

/** What the final page shows. */
export interface FinalView {
  readonly id: string;
  readonly canonical: string;
  readonly versionTag: string;
  /** e.g. `Bare Metal, amd64, Secure Boot`. */
  readonly summary: string;
  readonly offer: Offer;
  readonly externalURL: string;
  readonly externalPXEURL: string;
  /** The registry frontend serves installer images (until it lands, the reference is informational). */
  readonly installerServed: boolean;
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
  return html`<span class="unavailable">not available yet <span class="hint">(${reason})</span></span>`;
}

/** Renders the final page body. */
export function renderFinal(v: FinalView): SafeHtml {
  const image = (file: string) => joinUrlPath(v.externalURL, 'image', v.id, v.versionTag, file);
  const groups: HtmlValue = v.offer.groups.map(
    (g) =>
      html`<section class="group">
        <h3>${g.title}</h3>
        <ul class="assets">
          ${g.assets.map((a) =>
            a.available
              ? html`<li data-asset-path="${a.file}">
                  <a href="${image(a.file)}" download>${a.label}</a> <code class="file">${a.file}</code>
                  <a class="sum" href="${image(`${a.file}.sha256`)}" aria-label="sha256 of ${a.file}"
                    >sha256</a
                  >
                  <span class="asset-status" data-asset-path="${a.file}"></span>
                </li> `
              : html`<li data-asset-path="${a.file}" class="off">
                  <span class="label">${a.label}</span>
                  <code class="file">${a.file}</code>
                  ${unavailable(`${a.kind} builder not implemented in this factory`)}
                </li> `,
          )}
        </ul>
      </section>`,
  );

  const pxe = v.offer.pxe;
  const pxeUrl = pxe ? joinUrlPath(v.externalPXEURL, 'pxe', v.id, v.versionTag, pxe.path) : '';
  const pxeSection: HtmlValue = pxe
    ? html`<section aria-labelledby="pxe-h">
        <h2 id="pxe-h">PXE boot</h2>
        ${
          pxe.available
            ? html`<p>iPXE script: <a href="${pxeUrl}">${pxeUrl}</a></p>
                ${copyBlock('ipxe', 'iPXE snippet', ipxeSnippet(pxeUrl))}`
            : html`<p>
                <code>${pxeUrl}</code> ${unavailable('the assets it boots are not implemented yet')}
              </p>`
        }
      </section>`
    : undefined;

  const ref = installerReference(v.externalURL, v.offer.installerImage, v.id, v.versionTag);
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
        Built on the first download, then cached. Every asset has a <code>.sha256</code> (and
        <code>.sha512</code>) file beside it.
      </p>
      ${groups}
    </section>
    ${pxeSection}
    <section aria-labelledby="installer-h">
      <h2 id="installer-h">Installer image</h2>
      <p>For <code>machine.install.image</code> and <code>talosctl upgrade --image</code>:</p>
      ${copyBlock('installer', 'installer image reference', ref)}
      ${v.installerServed ? undefined : html`<p class="hint">This factory does not serve installer images over its registry frontend yet; the reference is the one it will answer to.</p>`}
    </section>`;
}
