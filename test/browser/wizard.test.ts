/**
 * The wizard in a real browser (Debian's Chromium via playwright-core) against a factory listening
 * on loopback over the fixture releases: metal amd64 with two extensions and a kernel arg, walked
 * by clicking (with JavaScript: live extension filter, copy buttons) and again with JavaScript
 * disabled (plain forms, server-side search). Both reach the same final page, whose ID must be the
 * one `POST /schematics` gives for the same document; on the final page one asset's "Build now"
 * starts its build without downloading and the row follows the status stream (EventSource) to
 * ready; an asset link is followed and its bytes checked against its `.sha256`. Every page is
 * checked by axe-core (no serious or critical violations) and must raise no CSP violation;
 * screenshots of each step at 375 and 1440 px go to `<test cache>/screenshots/wizard/`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort, launchChromium, runAxe } from '../helpers/browser.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { CACHE_DIR } from '../helpers/paths.js';

const SHOTS = join(CACHE_DIR, 'screenshots', 'wizard');
const WIDTHS = [375, 1440] as const;
const EXTENSIONS = ['siderolabs/amd-ucode', 'siderolabs/intel-ucode'];
const DOCUMENT = `customization:\n  extraKernelArgs: [nolapic]\n  systemExtensions:\n    officialExtensions: [${EXTENSIONS.join(', ')}]\n`;

const launched = await launchChromium();
const skip = 'reason' in launched ? launched.reason : false;
if (skip) process.stderr.write(`[browser] skipping: ${skip}\n`);

describe('wizard in Chromium', { skip, timeout: 300_000 }, () => {
  const browser = (launched as { browser: Browser }).browser;
  let t: TestFactory;
  let base: string;
  let expectedId: string;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ({ t } = await makeFixtureFactory({ http: { listen: `127.0.0.1:${port}`, externalURL: `${base}/` } }));
    await t.factory.listen();
    const res = await fetch(`${base}/schematics`, { method: 'POST', body: DOCUMENT });
    assert.equal(res.status, 201);
    expectedId = ((await res.json()) as { id: string }).id;
    await rm(SHOTS, { recursive: true, force: true });
    await mkdir(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await t?.cleanup();
  });

  /** A context whose pages report CSP violations and script errors into `problems`. */
  async function context(options: {
    javaScriptEnabled: boolean;
  }): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
    const ctx = await browser.newContext({
      ...options,
      viewport: { width: 1440, height: 900 },
      acceptDownloads: true,
    });
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    return { ctx, page, problems };
  }

  /** Screenshots of the current page at both widths, then axe (JS contexts only: it runs as script). */
  async function record(page: Page, name: string, axe: boolean): Promise<void> {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
      // Readable at this width: nothing wider than the viewport (long IDs and URLs wrap or scroll inside their box).
      const overflow = await page.evaluate(() => {
        const d = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } };
          }
        ).document;
        return d.documentElement.scrollWidth - d.documentElement.clientWidth;
      });
      assert.ok(overflow <= 0, `${name} at ${width}px overflows horizontally by ${overflow}px`);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
    if (!axe) return;
    const violations = (await runAxe(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.html).join(' | ')}`),
      [],
      `${name}: axe-core`,
    );
  }

  async function next(page: Page, label: RegExp): Promise<void> {
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: label }).click()]);
  }

  /** The final page's schematic ID and YAML. */
  async function finalPage(page: Page): Promise<{ id: string; yaml: string }> {
    await page.getByRole('heading', { level: 1, name: 'Schematic & links' }).waitFor();
    return {
      id: (await page.locator('#schematic-id').textContent()) ?? '',
      yaml: (await page.locator('#schematic-yaml').textContent()) ?? '',
    };
  }

  it('with JavaScript: click through metal amd64, two extensions, a kernel arg; the ID is POST /schematics’; the kernel link downloads', async () => {
    const { ctx, page, problems } = await context({ javaScriptEnabled: true });
    try {
      await page.goto(`${base}/`);
      await record(page, '1-target', true);
      // Keyboard only on the first step: Tab to the radio group, Space selects, Enter submits.
      await page.keyboard.press('Tab'); // skip link
      await page.keyboard.press('Tab'); // brand link
      await page.getByLabel('Bare metal').focus();
      await page.keyboard.press('Space');
      assert.ok(await page.getByLabel('Bare metal').isChecked());
      await Promise.all([page.waitForURL(/step=version/), page.keyboard.press('Enter')]);

      await record(page, '2-version', true);
      await page.getByLabel('Talos version').selectOption('1.10.6');
      await next(page, /Next: Architecture/);

      await record(page, '3-arch', true);
      await page.getByLabel('amd64').check();
      await next(page, /Next: Extensions/);

      // The search filters the list live (no round trip) and keeps the selection visible.
      const items = page.locator('#ext-list li.ext');
      const total = await items.count();
      await page.getByLabel('Search extensions').fill('ucode');
      await assert.doesNotReject(() => page.locator('#ext-list li.ext:visible').nth(1).waitFor());
      assert.equal(await page.locator('#ext-list li.ext:visible').count(), 2);
      assert.match(
        (await page.locator('#ext-count').textContent()) ?? '',
        new RegExp(`^2 of ${total} extensions shown`),
      );
      for (const e of EXTENSIONS) await page.getByLabel(e, { exact: true }).check();
      await page.getByLabel('Search extensions').fill('');
      assert.equal(await page.locator('#ext-list li.ext:visible').count(), total);
      await record(page, '4-extensions', true);
      await next(page, /Next: Customization/);

      await page.getByLabel('Extra kernel arguments').fill('nolapic');
      await record(page, '5-customize', true);
      await next(page, /Create schematic/);

      const { id, yaml } = await finalPage(page);
      assert.equal(id, expectedId, 'the wizard creates the same schematic as POST /schematics');
      assert.match(yaml, /- siderolabs\/amd-ucode\n\s+- siderolabs\/intel-ucode/);
      assert.ok(
        await page.getByRole('button', { name: 'Copy ID' }).isVisible(),
        'copy buttons appear with JS',
      );
      // Assets whose kind has no builder yet are listed without a link.
      assert.equal(await page.locator('ul.assets li.off a').count(), 0, 'unimplemented kinds are not links');
      assert.ok((await page.locator('ul.assets li').count()) >= 6, 'every metal asset is listed');
      // Live build status: the initramfs row says it is not built yet; "Build now" starts the build
      // without downloading, and the row follows the status stream through the build to ready.
      const file = 'initramfs-amd64.xz';
      const row = page.locator(`li[data-asset-path="${file}"]`);
      const status = row.locator('.asset-status');
      assert.equal(await status.getAttribute('data-state'), 'idle');
      assert.equal((await status.textContent())?.trim(), 'Not built yet');
      let downloads = 0;
      page.on('download', () => downloads++);
      const streams: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/status/') && /text\/event-stream/.test(r.headers().accept ?? ''))
          streams.push(r.url());
      });
      // Every text the row shows, as it changes (recorded in the page: states can pass quickly).
      await status.evaluate((el) => {
        const seen: string[] = [];
        (globalThis as unknown as { seen: string[] }).seen = seen;
        type Observer = new (cb: () => void) => { observe(target: unknown, options: object): void };
        const { MutationObserver } = globalThis as unknown as { MutationObserver: Observer };
        new MutationObserver(() =>
          seen.push(`${el.getAttribute('data-state')}|${el.textContent ?? ''}`),
        ).observe(el, {
          subtree: true,
          childList: true,
          characterData: true,
          attributes: true,
        });
      });
      const build = row.getByRole('button', { name: `Build now: ${file}` });
      assert.ok(await build.isVisible(), 'Build now shows with JS');
      await build.click();
      await row
        .locator('.asset-status:is([data-state="queued"], [data-state="building"], [data-state="ready"])')
        .waitFor();
      await page.screenshot({ path: join(SHOTS, '6-final-building-1440.png'), fullPage: true });
      await row.locator('.asset-status[data-state="ready"]').waitFor({ timeout: 180_000 });
      const readyText = (await status.textContent())?.trim() ?? '';
      assert.match(readyText, /^Ready · \d+\.\d (KiB|MiB)$/);
      assert.equal(await build.isVisible(), false, 'no Build now once it is ready');
      const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
      const states = [...new Set(seen.map((x) => x.split('|')[0]))];
      assert.ok(
        states.includes('queued') || states.includes('building'),
        `went through the build: ${seen.join(' / ')}`,
      );
      assert.equal(states.at(-1), 'ready', seen.join(' / '));
      process.stderr.write(`[browser] ${file}: ${seen.join(' / ')}\n`);
      // While building: `Building[: <step>] · <elapsed>` (the step once a tool has announced one).
      for (const x of seen.filter((x) => x.startsWith('building|'))) {
        assert.match(x, /^building\|Building(: \S.*)? · \d+ (s|min \d+ s)$/, x);
      }
      assert.ok(
        streams.some((u) => u.endsWith(`/status/${id}/v1.10.6/${file}`)),
        'followed through the SSE stream',
      );
      assert.equal(downloads, 0, 'Build now does not download');
      // The row's size is the built asset's: the status JSON and the .sha256 file agree.
      const json = (await (await fetch(`${base}/status/${id}/v1.10.6/${file}`)).json()) as {
        state: string;
        sha256: string;
      };
      const sumFile = await (await fetch(`${base}/image/${id}/v1.10.6/${file}.sha256`)).text();
      assert.equal(sumFile, `${json.sha256}  ${file}\n`);
      await record(page, '6-final', true);

      // Follow the kernel link: a real download whose bytes match the linked .sha256.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Kernel', exact: true }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'kernel-amd64');
      const bytes = await readFile(await download.path());
      const sumHref = await page.getByRole('link', { name: 'sha256 of kernel-amd64' }).getAttribute('href');
      const sum = await (await fetch(sumHref ?? '')).text();
      assert.equal(sum, `${createHash('sha256').update(bytes).digest('hex')}  kernel-amd64\n`);
      await download.delete();

      // Dark mode: the same page keeps its contrast.
      await page.emulateMedia({ colorScheme: 'dark' });
      await record(page, '6-final-dark', true);
      assert.deepEqual(problems, [], 'no script errors or CSP violations');
    } finally {
      await ctx.close();
    }
  });

  it('without JavaScript: the same steps as plain forms (server-side search) reach the same final page', async () => {
    const { ctx, page, problems } = await context({ javaScriptEnabled: false });
    try {
      await page.goto(`${base}/`);
      await page.getByLabel('Bare metal').check();
      await next(page, /Next: Version/);
      await page.getByLabel('Talos version').selectOption('1.10.6');
      await next(page, /Next: Architecture/);
      await page.getByLabel('amd64').check();
      await next(page, /Next: Extensions/);

      // Enter in the search field submits the Search button: the server narrows the list.
      await page.getByLabel('Search extensions').fill('ucode');
      await Promise.all([
        page.waitForURL(/[?&]q=ucode/),
        page.getByLabel('Search extensions').press('Enter'),
      ]);
      assert.equal(await page.locator('#ext-list li.ext').count(), 2);
      for (const e of EXTENSIONS) await page.getByLabel(e, { exact: true }).check();
      await record(page, 'nojs-4-extensions', false);
      await next(page, /Next: Customization/);
      await page.getByLabel('Extra kernel arguments').fill('nolapic');
      await next(page, /Create schematic/);

      const { id } = await finalPage(page);
      assert.equal(id, expectedId);
      assert.equal(
        await page.getByRole('button', { name: 'Copy ID' }).isVisible(),
        false,
        'no dead copy buttons without JS',
      );
      assert.equal(await page.locator('button[data-build]:visible').count(), 0, 'no Build now without JS');
      // The status shown is the one at page time (the JS walk built the initramfs).
      assert.match(
        (await page.locator('.asset-status[data-asset-path="initramfs-amd64.xz"]').textContent()) ?? '',
        /Ready · /,
      );
      await record(page, 'nojs-6-final', false);
      // The page URL is shareable: opened fresh, it shows the same schematic.
      const again = await ctx.newPage();
      await again.goto(page.url());
      assert.equal((await finalPage(again)).id, expectedId);
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  });
});
