import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import { compareSemVer, parseStrict, satisfies } from '../../src/builders/extensions/constraint.js';
import { ALLOWED_PATHS_HEAD, validateExtensionDir } from '../../src/builders/extensions/validate.js';

describe('Talos compatibility constraints (HEAD semantics)', () => {
  const table: [string, string, boolean][] = [
    ['>= v1.5.0', 'v1.5.3', true],
    ['>= v1.8.0', 'v1.5.3', false],
    ['>= 1.8.0', 'v1.8.0-alpha.1', true], // the target's pre-release is dropped
    ['>= v1.8.0', 'v1.7.99', false],
    ['< 1.8.0', 'v1.7.6', true],
    ['< 1.8.0', 'v1.8.0', false],
    ['<1.8.0', 'v1.8.0-beta.0', false],
    ['>= 1.5.0, < 1.9.0', 'v1.8.2', true],
    ['>= 1.5.0, < 1.9.0', 'v1.9.0', false],
    ['>=1.5.0 <1.9.0', 'v1.6.0', true],
    ['>= v1.5.0 < v1.6.0 || >= v1.8.0', 'v1.7.0', false],
    ['>= v1.5.0 < v1.6.0 || >= v1.8.0', 'v1.9.1', true],
    ['1.7.x', 'v1.7.5', true],
    ['1.7.x', 'v1.8.0', false],
    ['>1.7.x', 'v1.8.0', true],
    ['<=1.7.x', 'v1.7.9', true],
    ['!=1.6.0', 'v1.6.0', false],
    ['=1.6.0', '1.6.0', true],
    ['1.6.0', 'v1.6', true],
    ['>= 1.8.0-alpha.0', 'v1.8.0', true],
    ['', 'v1.0.0', true],
  ];
  for (const [constraint, version, expected] of table) {
    test(`${JSON.stringify(constraint)} vs ${version} → ${expected}`, () => {
      assert.equal(satisfies(constraint, version), expected);
    });
  }

  test('semver precedence of pre-releases', () => {
    const order = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ];
    for (let i = 1; i < order.length; i++) {
      assert.equal(
        compareSemVer(parseStrict(order[i - 1]!), parseStrict(order[i]!)),
        -1,
        `${order[i - 1]} < ${order[i]}`,
      );
    }
  });

  test('unparseable constraints throw', () => {
    assert.throws(() => satisfies('>= 1.5', 'v1.5.0'), /invalid version/);
    assert.throws(() => satisfies('~> 1.5.0', 'v1.5.0'), /invalid operator/);
    assert.throws(() => satisfies('|| >= 1.0.0', 'v1.5.0'), /'\|\|'/);
  });
});

describe('extension layout validation', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'extension-validate-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const manifest = (constraint: string, version = 'v1alpha1'): string =>
    `version: ${version}\nmetadata:\n  name: foo\n  version: 1.0.0\n  author: Someone\n  description: Foo\n` +
    `  compatibility:\n    talos:\n      version: "${constraint}"\n`;

  async function ext(files: Record<string, string>, dirs: string[] = ['rootfs']): Promise<string> {
    const root = join(dir, `e${n++}`);
    await mkdir(root);
    for (const d of dirs) await mkdir(join(root, d), { recursive: true });
    for (const [path, content] of Object.entries(files)) await writeFile(join(root, path), content);
    return root;
  }

  async function rejects(
    root: string,
    code: string,
    message: string,
    allowedPrefixes?: readonly string[],
  ): Promise<void> {
    await assert.rejects(
      validateExtensionDir(root, { name: 'siderolabs/foo', talosVersion: 'v1.5.3', allowedPrefixes }),
      (e: unknown) => {
        assert.ok(isFactoryError(e), String(e));
        assert.equal(e.code, code);
        assert.equal(e.message, message);
        return true;
      },
    );
  }

  test('a well-formed extension validates and returns its manifest', async () => {
    const root = await ext({ 'manifest.yaml': manifest('>= v1.5.0') });
    const m = await validateExtensionDir(root, { name: 'siderolabs/foo', talosVersion: 'v1.5.3' });
    assert.equal(m.metadata.name, 'foo');
    assert.equal(m.metadata.compatibility.talos.version, '>= v1.5.0');
  });

  test('incompatible Talos version → EXTENSION_UNAVAILABLE naming extension, version and constraint', async () => {
    await rejects(
      await ext({ 'manifest.yaml': manifest('>= v1.8.0') }),
      'EXTENSION_UNAVAILABLE',
      'extension siderolabs/foo: not available for Talos v1.5.3 (requires >= v1.8.0)',
    );
  });

  test('layout and manifest errors → EXTENSION_INVALID', async () => {
    await rejects(
      await ext({ 'manifest.yaml': manifest(''), README: 'x' }),
      'EXTENSION_INVALID',
      'extension siderolabs/foo: unexpected file "README" at the top level',
    );
    await rejects(await ext({}), 'EXTENSION_INVALID', 'extension siderolabs/foo: manifest.yaml is missing');
    await rejects(
      await ext({ 'manifest.yaml': manifest('') }, []),
      'EXTENSION_INVALID',
      'extension siderolabs/foo: rootfs/ is missing',
    );
    await rejects(
      await ext({ 'manifest.yaml': '\n' }),
      'EXTENSION_INVALID',
      'extension siderolabs/foo: manifest.yaml is empty',
    );
    await rejects(
      await ext({ 'manifest.yaml': manifest('', 'v1alpha2') }),
      'EXTENSION_INVALID',
      'extension siderolabs/foo: manifest.yaml: unsupported manifest version "v1alpha2" (expected v1alpha1)',
    );
    await rejects(
      await ext({ 'manifest.yaml': 'version: v1alpha1\nmetadata:\n  version: 1.0.0\n' }),
      'EXTENSION_INVALID',
      'extension siderolabs/foo: manifest.yaml: metadata.name is empty',
    );
    await rejects(
      await ext({ 'manifest.yaml': manifest('>= 1.5') }),
      'EXTENSION_INVALID',
      'extension siderolabs/foo: manifest.yaml: metadata.compatibility.talos.version ">= 1.5": invalid version "1.5"',
    );
    const linked = await ext({ 'manifest.yaml': manifest('') }, []);
    await symlink('/', join(linked, 'rootfs'));
    await rejects(linked, 'EXTENSION_INVALID', 'extension siderolabs/foo: rootfs is not a directory');
  });

  test('optional contents check uses the allowed path prefixes', async () => {
    const ok = await ext({ 'manifest.yaml': manifest(''), 'rootfs/usr/local/lib/x.so': '' }, [
      'rootfs/usr/local/lib',
    ]);
    await validateExtensionDir(ok, {
      name: 'siderolabs/foo',
      talosVersion: 'v1.9.0',
      allowedPrefixes: ALLOWED_PATHS_HEAD,
    });
    const bad = await ext({ 'manifest.yaml': manifest(''), 'rootfs/etc/passwd': '' }, ['rootfs/etc']);
    await rejects(
      bad,
      'EXTENSION_INVALID',
      'extension siderolabs/foo: entry "rootfs/etc/passwd": path /etc/passwd is not allowed in extensions',
      ALLOWED_PATHS_HEAD,
    );
  });
});
