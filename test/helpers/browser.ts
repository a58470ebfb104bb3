/**
 * Browser tests: Debian's Chromium driven by playwright-core (never a downloaded browser), with
 * the flags this machine needs (no background networking: the network is closed), and axe-core
 * run inside the page for accessibility checks.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from './free-port.js';

/** Where Debian's `chromium` package puts the browser (override: CHROMIUM_PATH). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox', // tests run as root, where Chromium's sandbox refuses to start
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium, or returns why it cannot start (the caller skips with that message). */
export async function launchChromium(): Promise<{ browser: Browser } | { reason: string }> {
  if (!existsSync(CHROMIUM_PATH)) {
    return { reason: `${CHROMIUM_PATH} not found (scripts/setup.sh --test installs Debian's chromium)` };
  }
  try {
    return {
      browser: await chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS, timeout: 60_000 }),
    };
  } catch (e) {
    return { reason: `chromium at ${CHROMIUM_PATH} cannot start: ${(e as Error).message.split('\n')[0]}` };
  }
}

export { freePort };

/** One axe-core finding. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; html: string }[];
}

let axeSource: Promise<string> | undefined;

/**
 * Runs axe-core in the page (evaluated over the DevTools protocol, which the page's CSP does not
 * govern, so the page under test keeps its strict policy) and returns the violations.
 */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const source = await axeSource;
  await page.evaluate(source);
  return page.evaluate(async () => {
    const g = globalThis as unknown as {
      axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> };
      document: unknown;
    };
    const result = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html })),
    }));
  });
}
