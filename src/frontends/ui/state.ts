/**
 * The wizard's state: everything chosen so far lives in query/form parameters (upstream's names:
 * `target`, `version` without `v`, `platform`, `board`, `arch`, `secureboot`, repeated
 * `extensions`, `cmdline`, `bootloader`, `overlay-options`; ours: `meta`, `step`, `q`), so every
 * page has a shareable URL and works without JavaScript. Values stay raw text here; the flow
 * (`flow.ts`) validates them against the release data.
 */

/** Query or form parameters as Fastify parses them. */
export type Params = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The wizard steps, in order (not every target visits every step). */
export const STEPS = [
  'target',
  'version',
  'platform',
  'board',
  'arch',
  'extensions',
  'customize',
  'final',
] as const;

/** A wizard step. */
export type StepName = (typeof STEPS)[number];

/** Raw wizard state. */
export interface WizardState {
  readonly target: string;
  /** Talos version without the leading `v` (upstream's form parameter). */
  readonly version: string;
  readonly platform: string;
  readonly board: string;
  readonly arch: string;
  readonly secureBoot: boolean;
  /** Official extension names, sorted and unique. */
  readonly extensions: readonly string[];
  /** Extra kernel args as typed (split on whitespace later). */
  readonly cmdline: string;
  /** `auto` (leave unset) or a schematic bootloader value. */
  readonly bootloader: string;
  /** Overlay options as YAML text. */
  readonly overlayOptions: string;
  /** META values, one `key=value` per line (key decimal or 0x-hex). */
  readonly meta: string;
  /** The step asked for (absent: the first). */
  readonly step: string;
  /** Extension search text (the no-JS filter). */
  readonly search: string;
}

/** The state before any choice. */
export const EMPTY_STATE: WizardState = {
  target: '',
  version: '',
  platform: '',
  board: '',
  arch: '',
  secureBoot: false,
  extensions: [],
  cmdline: '',
  bootloader: 'auto',
  overlayOptions: '',
  meta: '',
  step: '',
  search: '',
};

/** Caps on what one state may carry (the URL must stay usable; the body limit caps POSTs anyway). */
const MAX_TEXT = 16 * 1024;
const MAX_EXTENSIONS = 512;

function first(params: Params, key: string): string {
  const v = params[key];
  const s = typeof v === 'string' ? v : (v?.[0] ?? '');
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s;
}

function all(params: Params, key: string): string[] {
  const v = params[key];
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : [...v];
}

/** Normalises line endings of textarea input (browsers send CRLF). */
function lines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** Parses wizard state from query or form parameters. */
export function parseState(params: Params): WizardState {
  const extensions = [
    ...new Set(
      all(params, 'extensions')
        .flatMap((e) => e.split(','))
        .map((e) => e.trim())
        // `-` is upstream's "none chosen" marker.
        .filter((e) => e !== '' && e !== '-'),
    ),
  ]
    .sort()
    .slice(0, MAX_EXTENSIONS);
  const version = first(params, 'version').trim();
  return {
    target: first(params, 'target').trim(),
    version: version.startsWith('v') ? version.slice(1) : version,
    platform: first(params, 'platform').trim(),
    board: first(params, 'board').trim(),
    arch: first(params, 'arch').trim(),
    secureBoot: ['true', 'on', '1'].includes(first(params, 'secureboot')),
    extensions,
    cmdline: first(params, 'cmdline').replace(/\s+/g, ' ').trim(),
    bootloader: first(params, 'bootloader').trim() || 'auto',
    overlayOptions: lines(first(params, 'overlay-options')),
    meta: lines(first(params, 'meta')),
    step: first(params, 'step').trim(),
    search: first(params, 'q').trim(),
  };
}

/** One form/query parameter. */
export type Param = readonly [name: string, value: string];

/** The state as parameters, omitting defaults; `step` and `q` are not part of it. */
export function stateParams(state: WizardState): Param[] {
  const out: Param[] = [];
  const add = (name: string, value: string) => {
    if (value !== '') out.push([name, value]);
  };
  add('target', state.target);
  add('version', state.version);
  add('platform', state.platform);
  add('board', state.board);
  add('arch', state.arch);
  if (state.secureBoot) out.push(['secureboot', 'true']);
  for (const e of state.extensions) out.push(['extensions', e]);
  add('cmdline', state.cmdline);
  if (state.bootloader !== 'auto') add('bootloader', state.bootloader);
  add('overlay-options', state.overlayOptions);
  add('meta', state.meta);
  return out;
}

/** Parameter names that a step's own form controls set (so they are not also sent as hidden fields). */
export const STEP_FIELDS: Readonly<Record<StepName, readonly string[]>> = {
  target: ['target'],
  version: ['version'],
  platform: ['platform'],
  board: ['board'],
  arch: ['arch', 'secureboot'],
  extensions: ['extensions'],
  customize: ['cmdline', 'bootloader', 'overlay-options', 'meta'],
  final: [],
};

/** The relative URL (`?…`) of `step` with `state`: the shareable link of a wizard page. */
export function stepHref(state: WizardState, step: StepName): string {
  const params = new URLSearchParams(stateParams(state).map(([k, v]): [string, string] => [k, v]));
  if (step !== 'target') params.set('step', step);
  const q = params.toString();
  return q === '' ? './' : `./?${q}`;
}

/** A copy of `state` with some fields replaced. */
export function withState(state: WizardState, changes: Partial<WizardState>): WizardState {
  return { ...state, ...changes };
}
