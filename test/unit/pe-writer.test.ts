/**
 * PE32+ reader and UKI section writer: round trip (parse what we wrote), every header rule of
 * talos-imager §5.2 / errata "HEAD PE writer", streamed file inputs, the checksum, and the clear
 * errors for stubs the writer cannot handle. Stubs are synthetic (test/helpers/pe-image.ts), so
 * each rule is checked against known numbers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PeChecksum, peChecksum } from '../../src/builders/formats/pe/checksum.js';
import { parsePe, readPe, readSection } from '../../src/builders/formats/pe/reader.js';
import { appendSections, headersSize } from '../../src/builders/formats/pe/writer.js';
import { isFactoryError } from '../../src/errors.js';
import { makePe, makeStub } from '../helpers/pe-image.js';

const WHAT = 'systemd-stub.efi of v1.10.6 amd64';
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pe-writer-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stubFile(name: string, bytes: Buffer): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, bytes);
  return p;
}

describe('PE writer round trip', () => {
  it('appends sections exactly as the HEAD imager lays them out', async () => {
    const plain = makeStub();
    // A trailing COFF symbol table, as in Debian's systemd stubs (dropped like `strip`).
    const bytes = makeStub({ symbols: { pointer: plain.length, count: 3 } });
    const stubPath = await stubFile('stub.efi', bytes);
    const stub = await readPe(stubPath, WHAT);
    assert.equal(stub.numberOfSymbols, 3);
    const initrd = randomBytes(3 * 1024 * 1024 + 17); // > one 1 MiB chunk, odd size
    const initrdPath = path.join(dir, 'initrd');
    await writeFile(initrdPath, initrd);
    const cmdline = Buffer.from('console=ttyS0 talos.platform=metal');
    const out = path.join(dir, 'uki.efi');
    const written = await appendSections(
      stubPath,
      stub,
      [
        { name: '.osrel', data: Buffer.from('NAME="Talos"\n') },
        { name: '.cmdline', data: cmdline },
        { name: '.initrd', data: { path: initrdPath } },
      ],
      out,
      { timeDateStamp: 1_700_000_000, what: WHAT },
    );
    const file = await readFile(out);
    assert.equal(file.length, written.size);
    const pe = parsePe(file, file.length, 'out');

    // DOS header: first 0x3c bytes copied, e_lfanew 0x80, DOS stub program dropped.
    assert.deepEqual(file.subarray(0, 0x3c), bytes.subarray(0, 0x3c));
    assert.equal(file.readUInt32LE(0x3c), 0x80);
    assert.deepEqual(file.subarray(0x40, 0x80), Buffer.alloc(0x40));
    assert.equal(pe.peOffset, 0x80);

    // File header.
    assert.equal(pe.numberOfSections, 7);
    assert.equal(pe.timeDateStamp, 1_700_000_000);
    assert.equal(pe.pointerToSymbolTable, 0);
    assert.equal(pe.numberOfSymbols, 0);
    assert.equal(pe.characteristics, stub.characteristics);
    assert.equal(pe.machine, 0x8664);
    assert.equal(pe.arch, 'amd64');

    // Optional header.
    assert.equal(file.readUInt8(pe.optionalHeaderOffset + 2), 0, 'MajorLinkerVersion 0');
    assert.equal(file.readUInt8(pe.optionalHeaderOffset + 3), 0, 'MinorLinkerVersion 0');
    assert.equal(pe.sizeOfHeaders, 0x400, '0x80 + 20 + 240 + 7·40 = 620 → 0x400');
    assert.equal(pe.sizeOfHeaders, written.sizeOfHeaders);
    assert.equal(pe.sectionAlignment, 0x1000);
    assert.equal(pe.fileAlignment, 0x200);
    assert.deepEqual(pe.dataDirectories[5], { rva: 0x5000, size: 0x0c }, 'other directories kept');
    assert.equal(pe.addressOfEntryPoint, stub.addressOfEntryPoint);

    // Sections: stub ones first (rewritten contiguously), then ours at SectionAlignment.
    const names = pe.sections.map((s) => s.name);
    assert.deepEqual(names, ['.text', '.reloc', '.data', '.sbat', '.osrel', '.cmdline', '.initrd']);
    let pointer = pe.sizeOfHeaders;
    for (const s of pe.sections) {
      assert.equal(s.pointerToRawData, pointer, `${s.name} raw data contiguous`);
      assert.equal(s.sizeOfRawData % 0x200, 0, `${s.name} raw size FileAlignment-rounded`);
      pointer += s.sizeOfRawData;
      const at = s.headerOffset;
      assert.equal(file.readUInt32LE(at + 24), 0, `${s.name} PointerToRelocations zeroed`);
    }
    assert.equal(pointer, file.length, 'no trailing data (symbol table dropped)');
    const [osrel, cmd, initrdSec] = pe.sections.slice(4);
    assert.equal(osrel!.virtualAddress, 0x7000, 'after .sbat (0x6000 + 0x4c) rounded to 0x1000');
    assert.equal(cmd!.virtualAddress, 0x8000);
    assert.equal(initrdSec!.virtualAddress, 0x9000);
    assert.equal(initrdSec!.virtualSize, initrd.length, 'VirtualSize = data size');
    assert.equal(initrdSec!.sizeOfRawData, Math.ceil(initrd.length / 0x200) * 0x200);
    for (const s of [osrel!, cmd!, initrdSec!]) assert.equal(s.characteristics, 0x40000040);
    assert.equal(pe.sizeOfImage, 0x9000 + Math.ceil(initrd.length / 0x1000) * 0x1000);
    const raw = (n: string): number => pe.sections.find((s) => s.name === n)!.sizeOfRawData;
    assert.equal(pe.sizeOfCode, raw('.text'), 'SizeOfCode = sections without INITIALIZED_DATA');
    assert.equal(
      pe.sizeOfInitializedData,
      pe.sections.filter((s) => s.name !== '.text').reduce((n, s) => n + s.sizeOfRawData, 0),
    );

    // Data reads back; stub sections byte-identical.
    assert.deepEqual(await readSection(out, initrdSec!, true), initrd);
    assert.deepEqual(await readSection(out, cmd!, true), cmdline);
    for (const s of stub.sections) {
      const got = pe.sections.find((x) => x.name === s.name)!;
      assert.deepEqual(await readSection(out, got), await readSection(stubPath, s), s.name);
    }
    assert.equal(pe.checkSum, peChecksum(file, pe.checkSumOffset), 'checksum computed over the file');
    assert.equal(pe.checkSum, written.checkSum);
  });

  it('is reproducible: the same inputs give the same bytes', async () => {
    const stubPath = await stubFile('repro.efi', makeStub());
    const stub = await readPe(stubPath, WHAT);
    const outs: Buffer[] = [];
    for (const name of ['a.efi', 'b.efi']) {
      const out = path.join(dir, name);
      await appendSections(stubPath, stub, [{ name: '.linux', data: Buffer.alloc(5000, 7) }], out, {
        timeDateStamp: 42,
        what: WHAT,
      });
      outs.push(await readFile(out));
    }
    assert.deepEqual(outs[0], outs[1]);
  });

  it('clears a signed stub’s certificate-table entry (the table is not copied)', async () => {
    const plain = makeStub();
    const signed = Buffer.concat([
      makeStub({ securityDir: { rva: plain.length, size: 16 } }),
      Buffer.alloc(16),
    ]);
    const stubPath = await stubFile('signed.efi', signed);
    const stub = await readPe(stubPath, WHAT);
    assert.deepEqual(stub.certificateTable, { rva: plain.length, size: 16 });
    const out = path.join(dir, 'unsigned-out.efi');
    await appendSections(stubPath, stub, [{ name: '.cmdline', data: Buffer.from('x') }], out, {
      timeDateStamp: 0,
      what: WHAT,
    });
    const pe = await readPe(out, 'out');
    assert.equal(pe.certificateTable, undefined);
  });

  it('an arm64 stub keeps its machine type', async () => {
    const stubPath = await stubFile('aa64.efi', makeStub({ machine: 0xaa64 }));
    const stub = await readPe(stubPath, WHAT);
    const out = path.join(dir, 'aa64-out.efi');
    await appendSections(stubPath, stub, [{ name: '.linux', data: Buffer.alloc(10) }], out, {
      timeDateStamp: 0,
      what: WHAT,
    });
    assert.equal((await readPe(out, 'out')).arch, 'arm64');
  });

  it('SizeOfHeaders follows upstream, and grows one step where upstream would overlap', () => {
    // 0x80 + 20 + 240 + 40·N omits the 4-byte PE signature (errata (a)).
    assert.equal(headersSize(10, 0x200), 0x400);
    // N = 22: 388 + 880 = 1268 → 0x600 upstream; with the signature 1272 still fits.
    assert.equal(headersSize(22, 0x200), 0x600);
    // FileAlignment 16, N = 1: upstream 428 → 432; real 432 fits exactly.
    assert.equal(headersSize(1, 16), 432);
    // FileAlignment 4, N = 1: upstream 428 (already aligned) but real 432 → 432.
    assert.equal(headersSize(1, 4), 432);
  });
});

describe('PE writer refuses stubs it cannot handle, naming the input', () => {
  const cases: [string, () => Buffer, RegExp][] = [
    ['not a PE file', () => Buffer.from('#!/bin/sh\necho hi\n'), /not a PE image/],
    ['PE32 (32-bit)', () => makeStub({ magic: 0x10b }), /PE32 \(32-bit\) image; only PE32\+/],
    ['truncated in the section data', () => makeStub().subarray(0, 0x500), /truncated: section "\.text"/],
    ['truncated headers', () => makeStub().subarray(0, 0x100), /truncated PE headers/],
    ['unknown machine', () => makeStub({ machine: 0x14c }), /unsupported machine type 0x14c/],
    [
      'overlapping sections',
      () =>
        makePe({
          sections: [
            { name: '.text', virtualAddress: 0x1000, virtualSize: 0x2000, data: Buffer.alloc(0x10) },
            { name: '.data', virtualAddress: 0x2000, data: Buffer.alloc(0x10) },
          ],
        }),
      /section "\.data" overlaps/,
    ],
    [
      'a COFF symbol table between sections',
      () => makeStub({ symbols: { pointer: 0x400, count: 1 } }),
      /COFF symbol table between/,
    ],
    ['odd alignment', () => makeStub({ fileAlignment: 0x300 }), /odd alignment/],
  ];
  for (const [name, make, re] of cases) {
    it(name, async () => {
      const stubPath = await stubFile(`bad-${name.replace(/\W+/g, '-')}.efi`, make());
      await assert.rejects(
        async () => {
          const stub = await readPe(stubPath, WHAT);
          await appendSections(
            stubPath,
            stub,
            [{ name: '.cmdline', data: Buffer.from('x') }],
            path.join(dir, 'x.efi'),
            {
              timeDateStamp: 0,
              what: WHAT,
            },
          );
        },
        (e: unknown) => {
          assert.ok(isFactoryError(e, 'BUILD_FAILED'), String(e));
          assert.ok(e.message.startsWith(`${WHAT}: `), e.message);
          assert.match(e.message, re);
          assert.ok(!e.message.includes(dir), 'no server path in the message');
          return true;
        },
      );
    });
  }

  it('a missing section input names the section', async () => {
    const stubPath = await stubFile('ok.efi', makeStub());
    const stub = await readPe(stubPath, WHAT);
    await assert.rejects(
      appendSections(
        stubPath,
        stub,
        [{ name: '.initrd', data: { path: path.join(dir, 'nope') } }],
        path.join(dir, 'y.efi'),
        {
          timeDateStamp: 0,
          what: WHAT,
          step: 'uki',
        },
      ),
      /^FactoryError: uki: section \.initrd: cannot read its input \(ENOENT\)$/,
    );
  });
});

describe('PE checksum', () => {
  it('streaming in odd-sized chunks equals the one-shot sum', () => {
    const img = randomBytes(100_001);
    const whole = peChecksum(img, 0x58);
    const c = new PeChecksum();
    let at = 0;
    for (const n of [1, 0x57, 3, 1, 7, 5000, 1]) {
      if (at === 0x58) {
        c.updateZeros(4);
        at += 4;
        continue;
      }
      c.update(img.subarray(at, at + n));
      at += n;
    }
    c.update(img.subarray(at));
    assert.equal(c.digest(), whole);
  });

  it('matches an independent implementation (python, word by word as CheckSumMappedFile)', async () => {
    const img = randomBytes(4099);
    const p = path.join(dir, 'ck.bin');
    await writeFile(p, img);
    const { execFileSync } = await import('node:child_process');
    const py = `
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[0x58:0x5c] = b'\\0\\0\\0\\0'
if len(d) % 2: d += b'\\0'
s = 0
for i in range(0, len(d), 2):
    s += d[i] | (d[i+1] << 8)
    s = (s & 0xffff) + (s >> 16)
s = (s & 0xffff) + (s >> 16)
print(s + len(open(sys.argv[1], 'rb').read()))
`;
    const expected = Number(execFileSync('python3', ['-c', py, p]).toString().trim());
    assert.equal(peChecksum(img, 0x58), expected);
  });
});
