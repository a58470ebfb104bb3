/**
 * Builds small synthetic PE32+ images for unit tests of the PE reader/writer: headers laid out as
 * a linker would (DOS header, `PE\0\0`, file header, 240-byte optional header, section table),
 * with knobs to produce the broken stubs the writer must refuse.
 */

/** One section of a synthetic image. */
export interface SynthSection {
  name: string;
  virtualAddress: number;
  virtualSize?: number;
  data: Buffer;
  characteristics?: number;
  /** Override the file offset (default: contiguous after the headers). */
  pointer?: number;
}

/** Options of {@link makePe}. */
export interface SynthOptions {
  machine?: number;
  magic?: number;
  fileAlignment?: number;
  sectionAlignment?: number;
  sections: SynthSection[];
  /** COFF symbol table: where and how many 18-byte records (placed at `pointer`, zero-filled). */
  symbols?: { pointer: number; count: number };
  /** Bytes appended after everything else. */
  trailing?: Buffer;
  /** Fill the certificate-table directory entry. */
  securityDir?: { rva: number; size: number };
  imageBase?: bigint;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** A PE image as bytes. */
export function makePe(o: SynthOptions): Buffer {
  const fa = o.fileAlignment ?? 0x200;
  const sa = o.sectionAlignment ?? 0x1000;
  const peOff = 0x80;
  const n = o.sections.length;
  const headersEnd = peOff + 4 + 20 + 240 + 40 * n;
  const sizeOfHeaders = align(headersEnd, fa);
  let pointer = sizeOfHeaders;
  const placed = o.sections.map((s) => {
    const raw = align(s.data.length, fa);
    const at = s.pointer ?? pointer;
    pointer = Math.max(pointer, at + raw);
    return { ...s, raw, at };
  });
  let end = pointer;
  if (o.symbols) end = Math.max(end, o.symbols.pointer + 18 * o.symbols.count + 4);
  const buf = Buffer.alloc(end);
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt16LE(0x90, 2); // e_cblp: something non-zero the writer must copy
  buf.writeUInt32LE(peOff, 0x3c);
  buf.write('This program cannot be run in DOS mode.', 0x4e, 'latin1');
  buf.write('PE\0\0', peOff, 'latin1');
  const fh = peOff + 4;
  buf.writeUInt16LE(o.machine ?? 0x8664, fh);
  buf.writeUInt16LE(n, fh + 2);
  buf.writeUInt32LE(0x12345678, fh + 4);
  buf.writeUInt32LE(o.symbols?.pointer ?? 0, fh + 8);
  buf.writeUInt32LE(o.symbols?.count ?? 0, fh + 12);
  buf.writeUInt16LE(240, fh + 16);
  buf.writeUInt16LE(0x0206, fh + 18);
  const oh = fh + 20;
  buf.writeUInt16LE(o.magic ?? 0x20b, oh);
  buf.writeUInt8(2, oh + 2);
  buf.writeUInt8(40, oh + 3);
  buf.writeUInt32LE(placed[0]?.virtualAddress ?? 0, oh + 16);
  buf.writeBigUInt64LE(o.imageBase ?? 0n, oh + 24);
  buf.writeUInt32LE(sa, oh + 32);
  buf.writeUInt32LE(fa, oh + 36);
  const last = placed[placed.length - 1];
  buf.writeUInt32LE(
    last ? align(last.virtualAddress + (last.virtualSize ?? last.data.length), sa) : sa,
    oh + 56,
  );
  buf.writeUInt32LE(sizeOfHeaders, oh + 60);
  buf.writeUInt32LE(0xdeadbeef, oh + 64); // a wrong checksum the writer must replace
  buf.writeUInt16LE(10, oh + 68); // EFI application
  buf.writeUInt32LE(16, oh + 108);
  buf.writeUInt32LE(0x5000, oh + 112 + 5 * 8); // base relocation directory (kept)
  buf.writeUInt32LE(0x0c, oh + 112 + 5 * 8 + 4);
  if (o.securityDir) {
    buf.writeUInt32LE(o.securityDir.rva, oh + 112 + 4 * 8);
    buf.writeUInt32LE(o.securityDir.size, oh + 112 + 4 * 8 + 4);
  }
  const st = oh + 240;
  placed.forEach((s, i) => {
    const at = st + 40 * i;
    buf.write(s.name, at, 8, 'latin1');
    buf.writeUInt32LE(s.virtualSize ?? s.data.length, at + 8);
    buf.writeUInt32LE(s.virtualAddress, at + 12);
    buf.writeUInt32LE(s.raw, at + 16);
    buf.writeUInt32LE(s.at, at + 20);
    buf.writeUInt32LE(0x11111111, at + 24); // PointerToRelocations: zeroed by the writer
    buf.writeUInt32LE(s.characteristics ?? 0x60000020, at + 36);
    s.data.copy(buf, s.at);
  });
  return o.trailing ? Buffer.concat([buf, o.trailing]) : buf;
}

/** A plausible stub: `.text`, `.reloc`, `.data`, `.sbat`, with a trailing COFF symbol table. */
export function makeStub(opts: Partial<SynthOptions> = {}): Buffer {
  const text = Buffer.alloc(0x1234, 0xc3);
  const sections: SynthSection[] = opts.sections ?? [
    { name: '.text', virtualAddress: 0x1000, data: text, characteristics: 0x60000020 },
    { name: '.reloc', virtualAddress: 0x3000, data: Buffer.alloc(0x0c, 1), characteristics: 0x42000040 },
    {
      name: '.data',
      virtualAddress: 0x4000,
      virtualSize: 0x2000,
      data: Buffer.alloc(0x300, 2),
      characteristics: 0xc0000040,
    },
    {
      name: '.sbat',
      virtualAddress: 0x6000,
      data: Buffer.from('sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n'),
      characteristics: 0x40000040,
    },
  ];
  return makePe({ ...opts, sections });
}
