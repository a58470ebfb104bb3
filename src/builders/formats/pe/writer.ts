/**
 * Appends sections to a PE32+ stub, byte-compatible with the Talos ≥ 1.10 imager's native PE
 * writer (talos-imager.md §5.2, errata §4 "HEAD PE writer"), without objcopy:
 *
 * - the stub's first 0x40 DOS-header bytes with `e_lfanew` = 0x80, 0x40 zero bytes, `PE\0\0`
 *   (the DOS stub program is dropped);
 * - the file header with NumberOfSections increased and TimeDateStamp = the given epoch;
 * - the optional header copied (widened to all 16 data directories when the stub has fewer) with linker version 0, SizeOfCode / SizeOfInitializedData
 *   recomputed over all sections (SizeOfCode = every section *without* INITIALIZED_DATA),
 *   SizeOfHeaders = 0x80 + 20 + 240 + 40·N rounded to FileAlignment (upstream's formula, which
 *   leaves out the 4-byte signature; see {@link headersSize}), SizeOfImage recomputed, data
 *   directories kept;
 * - section headers keep name, VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData and
 *   characteristics; relocation and line-number fields are zeroed;
 * - new sections start at the stub's end VA rounded to SectionAlignment, each next one at the
 *   previous VA + size rounded to SectionAlignment; VirtualSize = data size, SizeOfRawData = size
 *   rounded to FileAlignment, characteristics INITIALIZED_DATA | MEM_READ;
 * - raw data laid out contiguously after the headers, stub sections first, zero-padded.
 *
 * Deliberate differences from upstream, each only where upstream would fail or write a broken
 * file: (1) CheckSum is computed (upstream writes 0; firmware ignores it, tools such as
 * `pefile`/`osslsigncode` report a mismatch); (2) a COFF symbol table that trails the section
 * data (as in Debian's systemd stubs) is dropped like `strip` does (upstream refuses such
 * stubs; image loaders never read it); (3) a stub's own certificate table is not copied and its
 * directory entry is cleared (upstream would keep a dangling entry).
 *
 * Section data is streamed from files in 1 MiB chunks, so a large initrd never sits in memory.
 */
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { FactoryError } from '../../../errors.js';
import { PeChecksum } from './checksum.js';
import {
  alignUp,
  DATA_DIRECTORY_COUNT,
  DIR_SECURITY,
  DOS_E_LFANEW,
  DOS_HEADER_SIZE,
  FH,
  FILE_HEADER_SIZE,
  MACHINE_ARCH,
  OH,
  OPTIONAL_HEADER64_FIXED,
  OPTIONAL_HEADER64_SIZE,
  SCN_CNT_INITIALIZED_DATA,
  SCN_MEM_READ,
  SECTION_HEADER_SIZE,
  SH,
} from './layout.js';
import { peError, type PeImage } from './reader.js';

/** Where the bytes of an appended section come from. */
export type SectionData = Buffer | { readonly path: string };

/** A section to append. */
export interface NewSection {
  /** At most 8 ASCII bytes, e.g. `.initrd`. */
  readonly name: string;
  readonly data: SectionData;
}

/** Options for {@link appendSections}. */
export interface AppendOptions {
  /** COFF TimeDateStamp (seconds; SOURCE_DATE_EPOCH for reproducible output). */
  readonly timeDateStamp: number;
  /** Names the stub in errors, e.g. `systemd-stub.efi of v1.10.6 amd64`. */
  readonly what: string;
  /** Prefix for errors about appended data, e.g. `uki`. */
  readonly step?: string;
  readonly signal?: AbortSignal;
}

/** One section of the written file. */
export interface WrittenSection {
  readonly name: string;
  readonly virtualAddress: number;
  readonly virtualSize: number;
  readonly pointerToRawData: number;
  readonly sizeOfRawData: number;
  readonly characteristics: number;
}

/** What {@link appendSections} wrote. */
export interface WrittenPe {
  readonly size: number;
  readonly checkSum: number;
  readonly sizeOfHeaders: number;
  readonly sizeOfImage: number;
  readonly sections: readonly WrittenSection[];
}

const OUT_PE_OFFSET = 0x80;
const CHUNK = 1 << 20;
const U32_MAX = 0xffffffff;

/**
 * Checks that the writer can rebuild `stub` faithfully; throws a `BUILD_FAILED` naming the stub
 * otherwise (unknown machine, PE32, short optional header, odd alignments, sections out of order
 * or overlapping, a symbol table between sections).
 */
export function checkStub(stub: PeImage, what: string): void {
  if (MACHINE_ARCH[stub.machine] === undefined)
    throw peError(what, `unsupported machine type 0x${stub.machine.toString(16)} (need 0x8664 or 0xaa64)`);
  if (
    stub.numberOfRvaAndSizes > DATA_DIRECTORY_COUNT ||
    stub.sizeOfOptionalHeader !== OPTIONAL_HEADER64_FIXED + 8 * stub.numberOfRvaAndSizes
  ) {
    throw peError(
      what,
      `optional header of ${stub.sizeOfOptionalHeader} bytes with ${stub.numberOfRvaAndSizes} data directories (need 112 + 8 per directory, at most 16)`,
    );
  }
  const pow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
  if (!pow2(stub.fileAlignment) || !pow2(stub.sectionAlignment) || stub.fileAlignment < 16)
    throw peError(
      what,
      `odd alignment (FileAlignment ${stub.fileAlignment}, SectionAlignment ${stub.sectionAlignment})`,
    );
  if (stub.sections.length === 0) throw peError(what, 'has no sections');
  let prevEnd = 0;
  let rawEnd = stub.sizeOfHeaders;
  const byPointer = stub.sections
    .filter((s) => s.sizeOfRawData > 0)
    .sort((a, b) => a.pointerToRawData - b.pointerToRawData);
  for (const s of stub.sections) {
    if (s.virtualAddress < prevEnd || s.virtualAddress < stub.sizeOfHeaders)
      throw peError(
        what,
        `section ${JSON.stringify(s.name)} overlaps the headers or the previous section in memory`,
      );
    // Only VirtualSize counts in memory: Debian's stubs place `.sdmagic` inside the alignment
    // padding of `.sbat`'s raw data, which loaders accept.
    prevEnd = s.virtualAddress + (s.virtualSize || s.sizeOfRawData);
  }
  for (const s of byPointer) {
    if (s.pointerToRawData < rawEnd)
      throw peError(
        what,
        `section ${JSON.stringify(s.name)} overlaps the headers or another section in the file`,
      );
    rawEnd = s.pointerToRawData + s.sizeOfRawData;
  }
  if (stub.numberOfSymbols > 0 || stub.pointerToSymbolTable > 0) {
    const table = stub.pointerToSymbolTable;
    if (table < rawEnd || table > stub.fileSize)
      throw peError(
        what,
        'has a COFF symbol table between its headers or sections (cannot be dropped safely)',
      );
  }
}

/** Upstream's SizeOfHeaders, grown to the next FileAlignment step if the headers would not fit it. */
export function headersSize(sectionCount: number, fileAlignment: number): number {
  const upstream = alignUp(
    OUT_PE_OFFSET + FILE_HEADER_SIZE + OPTIONAL_HEADER64_SIZE + SECTION_HEADER_SIZE * sectionCount,
    fileAlignment,
  );
  const real =
    OUT_PE_OFFSET + 4 + FILE_HEADER_SIZE + OPTIONAL_HEADER64_SIZE + SECTION_HEADER_SIZE * sectionCount;
  // Upstream omits the PE signature; when that would make the section table run into the first
  // section's data we take the next alignment step instead of writing an overlapping file.
  return real <= upstream ? upstream : alignUp(real, fileAlignment);
}

async function sizeOf(data: SectionData, name: string, step: string): Promise<number> {
  if (Buffer.isBuffer(data)) return data.length;
  try {
    const st = await stat(data.path);
    if (!st.isFile()) throw new Error('not a regular file');
    return st.size;
  } catch (e) {
    throw new FactoryError(
      'BUILD_FAILED',
      `${step}: section ${name}: cannot read its input (${errText(e)})`,
      { cause: e },
    );
  }
}

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** Sequential writer that feeds the checksum as it goes. */
class Out {
  position = 0;
  readonly checksum = new PeChecksum();
  constructor(private readonly fh: FileHandle) {}

  async write(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, this.position + done);
      done += bytesWritten;
    }
    this.checksum.update(buf);
    this.position += buf.length;
  }

  async zeros(n: number): Promise<void> {
    for (let left = n; left > 0;) {
      const k = Math.min(left, CHUNK);
      await this.write(Buffer.alloc(k));
      left -= k;
    }
  }
}

/**
 * Writes `stub` + `added` sections to `outPath` (see the module comment for the layout) and
 * returns the resulting section table. The stub must pass {@link checkStub}.
 */
export async function appendSections(
  stubPath: string,
  stub: PeImage,
  added: readonly NewSection[],
  outPath: string,
  options: AppendOptions,
): Promise<WrittenPe> {
  const { what } = options;
  const step = options.step ?? 'pe';
  checkStub(stub, what);
  const fa = stub.fileAlignment;
  const sa = stub.sectionAlignment;
  for (const s of added) {
    if (!/^[\x21-\x7e]{1,8}$/.test(s.name))
      throw new FactoryError('BUILD_FAILED', `${step}: bad section name ${JSON.stringify(s.name)}`);
  }
  const sizes = await Promise.all(added.map((s) => sizeOf(s.data, s.name, step)));

  const count = stub.sections.length + added.length;
  const sizeOfHeaders = headersSize(count, fa);
  const first = stub.sections[0]!;
  if (sizeOfHeaders > first.virtualAddress)
    throw peError(
      what,
      `no room for ${count} section headers before the first section (at 0x${first.virtualAddress.toString(16)})`,
    );
  const last = stub.sections[stub.sections.length - 1]!;
  let va = alignUp(last.virtualAddress + last.virtualSize, sa);
  let pointer = sizeOfHeaders;
  const layout: WrittenSection[] = [];
  for (const s of stub.sections) {
    layout.push({
      name: s.name,
      virtualAddress: s.virtualAddress,
      virtualSize: s.virtualSize,
      pointerToRawData: pointer,
      sizeOfRawData: s.sizeOfRawData,
      characteristics: s.characteristics,
    });
    pointer += s.sizeOfRawData;
  }
  added.forEach((s, i) => {
    const size = sizes[i]!;
    const raw = alignUp(size, fa);
    layout.push({
      name: s.name,
      virtualAddress: va,
      virtualSize: size,
      pointerToRawData: pointer,
      sizeOfRawData: raw,
      characteristics: SCN_CNT_INITIALIZED_DATA | SCN_MEM_READ,
    });
    pointer += raw;
    va = alignUp(va + size, sa);
  });
  const lastNew = layout[layout.length - 1]!;
  const base = stub.imageBase;
  const sizeOfImage = Number(
    alignUpBig(BigInt(lastNew.virtualAddress) + BigInt(lastNew.virtualSize) + base, BigInt(sa)) - base,
  );
  if (pointer > U32_MAX || sizeOfImage > U32_MAX || va > U32_MAX)
    throw new FactoryError('BUILD_FAILED', `${step}: the sections do not fit a PE image (over 4 GiB)`);
  let sizeOfCode = 0;
  let sizeOfInitializedData = 0;
  for (const s of layout) {
    if (s.characteristics & SCN_CNT_INITIALIZED_DATA) sizeOfInitializedData += s.sizeOfRawData;
    else sizeOfCode += s.sizeOfRawData;
  }

  // Headers, built from the stub's own header bytes.
  const stubFh = await open(stubPath, 'r');
  try {
    const stubHead = Buffer.alloc(stub.sectionTableOffset);
    await stubFh.read(stubHead, 0, stubHead.length, 0);
    const head = Buffer.alloc(sizeOfHeaders);
    stubHead.copy(head, 0, 0, DOS_HEADER_SIZE);
    head.writeUInt32LE(OUT_PE_OFFSET, DOS_E_LFANEW);
    head.write('PE\0\0', OUT_PE_OFFSET, 'latin1');
    const fh = OUT_PE_OFFSET + 4;
    stubHead.copy(head, fh, stub.fileHeaderOffset, stub.fileHeaderOffset + FILE_HEADER_SIZE);
    head.writeUInt16LE(count, fh + FH.numberOfSections);
    head.writeUInt32LE(options.timeDateStamp >>> 0, fh + FH.timeDateStamp);
    head.writeUInt32LE(0, fh + FH.pointerToSymbolTable);
    head.writeUInt32LE(0, fh + FH.numberOfSymbols);
    const oh = fh + FILE_HEADER_SIZE;
    // A stub with fewer than 16 data directories (Debian's arm64 stub has 6) gets the full
    // 240-byte header: its directories are kept, the missing ones are zero (absent).
    stubHead.copy(head, oh, stub.optionalHeaderOffset, stub.optionalHeaderOffset + stub.sizeOfOptionalHeader);
    head.writeUInt16LE(OPTIONAL_HEADER64_SIZE, fh + FH.sizeOfOptionalHeader);
    head.writeUInt32LE(DATA_DIRECTORY_COUNT, oh + OH.numberOfRvaAndSizes);
    head.writeUInt8(0, oh + OH.majorLinkerVersion);
    head.writeUInt8(0, oh + OH.minorLinkerVersion);
    head.writeUInt32LE(sizeOfCode, oh + OH.sizeOfCode);
    head.writeUInt32LE(sizeOfInitializedData, oh + OH.sizeOfInitializedData);
    head.writeUInt32LE(sizeOfImage, oh + OH.sizeOfImage);
    head.writeUInt32LE(sizeOfHeaders, oh + OH.sizeOfHeaders);
    head.writeUInt32LE(0, oh + OH.checkSum);
    head.fill(0, oh + OH.dataDirectories + 8 * DIR_SECURITY, oh + OH.dataDirectories + 8 * DIR_SECURITY + 8);
    const st = oh + OPTIONAL_HEADER64_SIZE;
    layout.forEach((s, i) => {
      const at = st + i * SECTION_HEADER_SIZE;
      head.write(s.name, at + SH.name, 8, 'latin1');
      head.writeUInt32LE(s.virtualSize, at + SH.virtualSize);
      head.writeUInt32LE(s.virtualAddress, at + SH.virtualAddress);
      head.writeUInt32LE(s.sizeOfRawData, at + SH.sizeOfRawData);
      head.writeUInt32LE(s.pointerToRawData, at + SH.pointerToRawData);
      head.writeUInt32LE(s.characteristics, at + SH.characteristics);
    });

    const outFh = await open(outPath, 'w');
    try {
      const out = new Out(outFh);
      await out.write(head);
      for (const s of stub.sections) {
        options.signal?.throwIfAborted();
        for (let done = 0; done < s.sizeOfRawData;) {
          const k = Math.min(CHUNK, s.sizeOfRawData - done);
          const buf = Buffer.alloc(k);
          const { bytesRead } = await stubFh.read(buf, 0, k, s.pointerToRawData + done);
          if (bytesRead !== k) throw peError(what, `truncated in section ${JSON.stringify(s.name)}`);
          await out.write(buf);
          done += k;
        }
      }
      for (const [i, s] of added.entries()) {
        options.signal?.throwIfAborted();
        const size = sizes[i]!;
        const written = await copyData(out, s, step, options.signal);
        if (written !== size)
          throw new FactoryError(
            'BUILD_FAILED',
            `${step}: section ${s.name}: input changed size while being read`,
          );
        await out.zeros(alignUp(size, fa) - size);
      }
      const checkSum = out.checksum.digest();
      const sum = Buffer.alloc(4);
      sum.writeUInt32LE(checkSum);
      await outFh.write(sum, 0, 4, oh + OH.checkSum);
      return { size: out.position, checkSum, sizeOfHeaders, sizeOfImage, sections: layout };
    } finally {
      await outFh.close();
    }
  } finally {
    await stubFh.close();
  }
}

async function copyData(
  out: Out,
  s: NewSection,
  step: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  if (Buffer.isBuffer(s.data)) {
    await out.write(s.data);
    return s.data.length;
  }
  let n = 0;
  try {
    for await (const chunk of createReadStream(s.data.path, { highWaterMark: CHUNK, signal })) {
      await out.write(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
  } catch (e) {
    if (e instanceof FactoryError) throw e;
    throw new FactoryError(
      'BUILD_FAILED',
      `${step}: section ${s.name}: cannot read its input (${errText(e)})`,
      { cause: e },
    );
  }
  return n;
}

function alignUpBig(n: bigint, alignment: bigint): bigint {
  return ((n + alignment - 1n) / alignment) * alignment;
}
