/** Configuration: defaults, precedence (file < env < flags), validation naming the key. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { parseDuration, parseSize } from '../../src/config/units.js';
import { FactoryError } from '../../src/errors.js';

describe('config', () => {
  it('has sane defaults', () => {
    const c = loadConfig({}, {});
    assert.equal(c.http.listen, '127.0.0.1:8080');
    assert.equal(c.dataDir, './data');
    assert.equal(c.http.bodyLimit, 256 * 1024);
    assert.equal(c.build.maxConcurrency, 2);
    assert.equal(c.schematics.negativeTTL, 30_000);
    assert.equal(c.artifacts.core.registry, 'ghcr.io');
  });

  it('initramfs appendix compression and build reuse knobs', () => {
    const c = loadConfig({}, {});
    assert.deepEqual(c.build.initramfsCompression, { zstdLevel: 3, xzPreset: '0' });
    assert.equal(c.build.reuseIntermediates, true);
    const imager = loadConfig(
      {},
      { IMAGE_FACTORY__build__initramfsCompression: '{"zstdLevel":18,"xzPreset":"0e"}' },
    );
    assert.deepEqual(imager.build.initramfsCompression, { zstdLevel: 18, xzPreset: '0e' });
    for (const bad of [{ xzPreset: '10' }, { zstdLevel: 22 }]) {
      assert.throws(
        () => validateConfig({ build: { initramfsCompression: bad } }),
        (e: unknown) =>
          e instanceof FactoryError && /build\.initramfsCompression\.(xzPreset|zstdLevel)/.test(e.message),
      );
    }
  });

  it('file < env < flags', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'if-cfg-'));
    const file = join(dir, 'c.yaml');
    await writeFile(
      file,
      'http:\n  listen: 127.0.0.1:1111\n  bodyLimit: 1MiB\ndataDir: /from-file\nbuild:\n  maxConcurrency: 3\n',
    );
    const env = { IMAGE_FACTORY_LISTEN: '127.0.0.1:2222', IMAGE_FACTORY__build__maxConcurrency: '5' };
    t.after(() => rm(dir, { recursive: true, force: true }));
    const c = loadConfig({ config: file, dataDir: '/from-flag' }, env);
    assert.equal(c.http.listen, '127.0.0.1:2222');
    assert.equal(c.http.bodyLimit, 1024 * 1024);
    assert.equal(c.dataDir, '/from-flag');
    assert.equal(c.build.maxConcurrency, 5);
    const c2 = loadConfig({ config: file, listen: '[::1]:3333' }, env);
    assert.equal(c2.http.listen, '[::1]:3333');
    const json = join(dir, 'c.json');
    await writeFile(json, JSON.stringify({ http: { externalURL: 'https://factory.example/' } }));
    assert.equal(loadConfig({}, { IMAGE_FACTORY_CONFIG: json }).http.externalURL, 'https://factory.example/');
  });

  const rejects = (tree: unknown, pattern: RegExp) =>
    assert.throws(
      () => validateConfig(tree),
      (e: unknown) => e instanceof FactoryError && e.code === 'CONFIG_INVALID' && pattern.test(e.message),
    );

  it('names the offending key', () => {
    rejects({ http: { listen: 'nope' } }, /"http\.listen"/);
    rejects({ http: { bodyLimit: '12 parsecs' } }, /"http\.bodyLimit".*invalid size/);
    rejects({ build: { maxConcurrency: 0 } }, /"build\.maxConcurrency"/);
    rejects({ http: { externalURL: 'ftp://x' } }, /"http\.externalURL"/);
    rejects({ htp: {} }, /unknown config key "htp"/);
    rejects({ build: { timeout: 'forever' } }, /"build\.timeout".*invalid duration/);
    rejects({ build: { timeout: '1000h' } }, /"build\.timeout".*longer than 24 days/);
    rejects({ schematics: { store: 's3' } }, /"schematics\.store"/);
  });

  it('rejects an unreadable or malformed file naming it', async (t) => {
    assert.throws(
      () => loadConfig({ config: '/does/not/exist.yaml' }, {}),
      /config file \/does\/not\/exist\.yaml/,
    );
    const dir = await mkdtemp(join(tmpdir(), 'if-cfg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'a: 1\na: 2\n');
    assert.throws(() => loadConfig({ config: bad }, {}), /bad\.yaml/);
  });

  it('parses sizes and durations', () => {
    assert.equal(parseSize('256KiB'), 262144);
    assert.equal(parseSize('1GB'), 1e9);
    assert.equal(parseSize('12 parsecs'), undefined);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30'), undefined);
  });
});
