/**
 * The page shell every wizard page shares: document head (styles, script, icon — all served by
 * the factory itself, referenced relative to `/` so a path prefix in front of the factory works),
 * the step navigation, and the footer.
 */
import { html, join, type HtmlValue, type SafeHtml } from '../html.js';
import { stateParams, STEP_FIELDS, stepHref, type StepName, type WizardState } from '../state.js';

/** Hrefs of the static files (with their content hash, for immutable caching). */
export interface PageAssets {
  readonly css: string;
  readonly js: string;
  readonly icon: string;
}

/** Shown in the step navigation. */
export const STEP_LABELS: Readonly<Record<StepName, string>> = {
  target: 'Target',
  version: 'Version',
  platform: 'Platform',
  board: 'Board',
  arch: 'Architecture',
  extensions: 'Extensions',
  customize: 'Customization',
  final: 'Schematic & links',
};

/** What the shell needs. */
export interface ShellInput {
  readonly title: string;
  readonly assets: PageAssets;
  readonly factoryVersion: string;
  /** Step navigation; absent on pages outside the wizard. */
  readonly nav?: {
    readonly state: WizardState;
    readonly steps: readonly StepName[];
    readonly current: StepName;
  };
  readonly error?: string;
  readonly notices?: readonly string[];
  readonly body: SafeHtml;
}

function stepNav(nav: NonNullable<ShellInput['nav']>): SafeHtml {
  const at = nav.steps.indexOf(nav.current);
  const items = nav.steps.map((step, i) => {
    const label = `${i + 1}. ${STEP_LABELS[step]}`;
    if (i === at) return html`<li><span aria-current="step">${label}</span></li>`;
    if (i < at) return html`<li><a href="${stepHref(nav.state, step)}">${label}</a></li>`;
    return html`<li><span class="future">${label}</span></li>`;
  });
  return html`<nav aria-label="Wizard steps">
    <ol class="steps">
      ${items}
    </ol>
  </nav>`;
}

/** Renders a whole page. */
export function renderShell(input: ShellInput): string {
  const { assets } = input;
  const notices: HtmlValue = (input.notices ?? []).map((n) => html`<p class="notice" role="status">${n}</p>`);
  const error: HtmlValue = input.error
    ? html`<div class="error" role="alert">
        <p><strong>Cannot go on:</strong> ${input.error}</p>
      </div>`
    : undefined;
  return `<!doctype html>\n${html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      <meta name="referrer" content="no-referrer" />
      <title>${input.title} · image-factory</title>
      <link rel="stylesheet" href="${assets.css}" />
      <link rel="icon" href="${assets.icon}" type="image/svg+xml" />
      <script src="${assets.js}" defer></script>
    </head>
    <body>
      <a class="skip" href="#main">Skip to content</a>
      <header class="site">
        <a class="brand" href="./">image-factory</a
        ><span class="tagline">Talos Linux boot assets, built on demand</span>
      </header>
      ${input.nav ? stepNav(input.nav) : undefined}
      <main id="main" tabindex="-1">
        <h1>${input.title}</h1>
        ${error}${notices}${input.body}
      </main>
      <footer class="site">
        <p>
          image-factory ${input.factoryVersion} · <a href="openapi.json">HTTP API (OpenAPI)</a> ·
          <a href="versions">versions</a>
        </p>
      </footer>
    </body>
  </html>`}\n`;
}

/** Hidden inputs carrying the state a step's own controls do not set. */
export function hiddenState(state: WizardState, step: StepName): SafeHtml {
  const own = new Set(STEP_FIELDS[step]);
  return join(
    stateParams(state)
      .filter(([name]) => !own.has(name))
      .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" /> `),
  );
}

/** The form of one step: GET to the wizard, state in hidden fields, Back link and Next button. */
export function stepForm(input: {
  readonly state: WizardState;
  readonly steps: readonly StepName[];
  readonly step: StepName;
  readonly controls: SafeHtml;
  readonly nextLabel?: string;
}): SafeHtml {
  const at = input.steps.indexOf(input.step);
  const next = input.steps[at + 1] ?? 'final';
  const prev = at > 0 ? input.steps[at - 1] : undefined;
  const back = prev ? html`<a class="back" href="${stepHref(input.state, prev)}">Back</a>` : undefined;
  return html`<form method="get" action="./" class="step" novalidate>
    ${hiddenState(input.state, input.step)}${input.controls}
    <div class="actions">
      ${back}<button type="submit" name="step" value="${next}" class="primary">
        ${input.nextLabel ?? `Next: ${STEP_LABELS[next]}`}
      </button>
    </div>
  </form>`;
}
