import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentDisposition, contentTypeFor, pathExtension } from '../../src/profile/content-type.js';

describe('contentTypeFor', () => {
  const cases: [string, string][] = [
    ['metal-amd64-secureboot-uki.efi', 'application/efi'],
    ['metal-amd64.iso', 'application/x-iso9660-image'],
    ['metal-amd64.raw.xz', 'application/x-xz'],
    ['initramfs-amd64.xz', 'application/x-xz'],
    ['digital-ocean-amd64.raw.gz', 'application/gzip'],
    ['gcp-amd64.raw.tar.gz', 'application/gzip'],
    ['metal-amd64.qcow2', 'application/x-qemu-disk'],
    ['installer-amd64.tar', 'application/x-tar'],
    ['metal-amd64.raw.zst', 'application/zstd'],
    ['metal-amd64.raw', 'application/octet-stream'],
    ['azure-amd64.vhd', 'application/octet-stream'],
    ['vmware-amd64.ova', 'application/octet-stream'],
    ['kernel-amd64', 'application/octet-stream'],
    ['cmdline-metal-amd64', 'application/octet-stream'],
    ['x.constructor', 'application/octet-stream'],
    ['x.toString', 'application/octet-stream'],
  ];
  for (const [path, type] of cases) it(`${path} → ${type}`, () => assert.equal(contentTypeFor(path), type));

  it('extension is taken from the last element only (Go filepath.Ext)', () => {
    assert.equal(pathExtension('a.b/c'), '');
    assert.equal(pathExtension('a/b.iso'), '.iso');
    assert.equal(pathExtension('name.'), '.');
  });
});

describe('contentDisposition', () => {
  it("plain names give upstream's exact header", () => {
    assert.equal(contentDisposition('metal-amd64.iso'), 'attachment; filename="metal-amd64.iso"');
    assert.equal(contentDisposition('my talos (1).iso'), 'attachment; filename="my talos (1).iso"');
  });

  it('quotes, backslashes, control and non-ASCII characters get a fallback plus filename*', () => {
    assert.equal(
      contentDisposition('a"b\\c.iso'),
      `attachment; filename="a\\"b\\\\c.iso"; filename*=UTF-8''a%22b%5Cc.iso`,
    );
    assert.equal(
      contentDisposition('tälos.iso'),
      `attachment; filename="t_los.iso"; filename*=UTF-8''t%C3%A4los.iso`,
    );
    const injected = contentDisposition('x.iso\r\nSet-Cookie: a=b');
    assert.doesNotMatch(injected, /[\r\n]/);
    assert.equal(
      contentDisposition("it's.iso\u{1F600}"),
      `attachment; filename="it's.iso_"; filename*=UTF-8''it%27s.iso%F0%9F%98%80`,
    );
    assert.doesNotThrow(() => contentDisposition('\ud800.iso'));
  });
});
