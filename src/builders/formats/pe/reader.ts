/**
 * A PE/COFF header reader (PE32+ only): DOS header, COFF file header, optional header with its
 * data directories, and the section table. Only headers are read; section data stays in the file,
 * so a 300 MB UKI costs one small read. Every problem is a `BUILD_FAILED` naming the input
 * (`what`, e.g. `systemd-stub.efi of v1.10.6 amd64`) and never a server path.
 */
import { open } from 'node:fs/promises';
import { FactoryError } from '../../../errors.js';
import {
  DATA_DIRECTORY_COUNT,
  DIR_SECURITY,
  DOS_E_LFANEW,
  DOS_HEADER_SIZE,
  FH,
  FILE_HEADER_SIZE,
  MACHINE_ARCH,
  OH,
  OPTIONAL_HEADER64_FIXED,
  PE32_MAGIC,
  PE32PLUS_MAGIC,
  PE_SIGNATURE,
  SECTION_HEADER_SIZE,
  SH,
} from './layout.js';

/** One section table entry. */
export interface PeSection {
  /** Name with trailing NULs removed (at most 8 bytes; long `/nnn` names are kept as written). */
  readonly name: string;
  readonly virtualSize: number;
  readonly virtualAddress: number;
  readonly sizeOfRawData: number;
  readonly pointerToRawData: number;
  readonly characteristics: number;
  /** File offset of this entry in the section table. */
  readonly headerOffset: number;
}

/** One data directory entry (`rva` is a file offset for the certificate table). */
export interface PeDataDirectory {
  readonly rva: number;
  readonly size: number;
}

/** The parsed headers of a PE32+ image. */
export interface PeImage {
  readonly fileSize: number;
  readonly machine: number;
  /** `amd64`/`arm64` for the machine types the factory builds, else undefined. */
  readonly arch: 'amd64' | 'arm64' | undefined;
  /** File offset of `PE\0\0` (`e_lfanew`). */
  readonly peOffset: number;
  readonly fileHeaderOffset: number;
  readonly optionalHeaderOffset: number;
  readonly sectionTableOffset: number;
  readonly numberOfSections: number;
  readonly timeDateStamp: number;
  readonly pointerToSymbolTable: number;
  readonly numberOfSymbols: number;
  readonly sizeOfOptionalHeader: number;
  readonly characteristics: number;
  readonly magic: number;
  readonly sizeOfCode: number;
  readonly sizeOfInitializedData: number;
  readonly addressOfEntryPoint: number;
  readonly imageBase: bigint;
  readonly sectionAlignment: number;
  readonly fileAlignment: number;
  readonly sizeOfImage: number;
  readonly sizeOfHeaders: number;
  readonly checkSum: number;
  readonly numberOfRvaAndSizes: number;
  readonly dataDirectories: readonly PeDataDirectory[];
  /** File offset of the 4-byte CheckSum field. */
  readonly checkSumOffset: number;
  /** File offset of the certificate-table data directory entry (8 bytes). */
  readonly securityDirOffset: number;
  /** The certificate table (Authenticode signatures), when the image has one. */
  readonly certificateTable: PeDataDirectory | undefined;
  readonly sections: readonly PeSection[];
}

/** A `BUILD_FAILED` error for a PE input that cannot be used. */
export function peError(what: string, message: string): FactoryError {
  return new FactoryError('BUILD_FAILED', `${what}: ${message}`);
}

/** How many leading bytes are needed to parse the headers, if `head` is too short to know yet. */
function neededBytes(head: Buffer): number {
  if (head.length < DOS_HEADER_SIZE) return DOS_HEADER_SIZE;
  const pe = head.readUInt32LE(DOS_E_LFANEW);
  const fh = pe + 4;
  if (head.length < fh + FILE_HEADER_SIZE) return fh + FILE_HEADER_SIZE;
  const n = head.readUInt16LE(fh + FH.numberOfSections);
  const opt = head.readUInt16LE(fh + FH.sizeOfOptionalHeader);
  return fh + FILE_HEADER_SIZE + opt + n * SECTION_HEADER_SIZE;
}

/**
 * Parses PE32+ headers from the first bytes of a file. `head` must hold at least the DOS header,
 * the PE headers and the section table; `fileSize` is the whole file's size (for range checks).
 */
export function parsePe(head: Buffer, fileSize: number, what: string): PeImage {
  if (head.length < 2 || head.readUInt16LE(0) !== 0x5a4d)
    throw peError(what, 'not a PE image (no "MZ" DOS header)');
  if (head.length < DOS_HEADER_SIZE) throw peError(what, 'truncated DOS header');
  const peOffset = head.readUInt32LE(DOS_E_LFANEW);
  const need = neededBytes(head);
  if (need > fileSize || need > head.length) {
    throw peError(
      what,
      `truncated PE headers (${Math.min(fileSize, head.length)} bytes, headers need ${need})`,
    );
  }
  if (head.readUInt32LE(peOffset) !== PE_SIGNATURE)
    throw peError(what, 'not a PE image (no "PE\\0\\0" signature)');
  const fileHeaderOffset = peOffset + 4;
  const f = (o: number): number => fileHeaderOffset + o;
  const machine = head.readUInt16LE(f(FH.machine));
  const numberOfSections = head.readUInt16LE(f(FH.numberOfSections));
  const sizeOfOptionalHeader = head.readUInt16LE(f(FH.sizeOfOptionalHeader));
  const optionalHeaderOffset = fileHeaderOffset + FILE_HEADER_SIZE;
  const o = (x: number): number => optionalHeaderOffset + x;
  if (sizeOfOptionalHeader < 2) throw peError(what, 'no optional header (an object file, not an image)');
  const magic = head.readUInt16LE(o(OH.magic));
  if (magic === PE32_MAGIC) throw peError(what, 'a PE32 (32-bit) image; only PE32+ is supported');
  if (magic !== PE32PLUS_MAGIC) throw peError(what, `unknown optional header magic 0x${magic.toString(16)}`);
  if (sizeOfOptionalHeader < OPTIONAL_HEADER64_FIXED)
    throw peError(what, `optional header too short (${sizeOfOptionalHeader} bytes)`);
  const numberOfRvaAndSizes = head.readUInt32LE(o(OH.numberOfRvaAndSizes));
  const dirCount = Math.min(numberOfRvaAndSizes, DATA_DIRECTORY_COUNT);
  if (OPTIONAL_HEADER64_FIXED + 8 * dirCount > sizeOfOptionalHeader)
    throw peError(what, `${numberOfRvaAndSizes} data directories do not fit the optional header`);
  const dataDirectories: PeDataDirectory[] = [];
  for (let i = 0; i < dirCount; i++) {
    const at = o(OH.dataDirectories + 8 * i);
    dataDirectories.push({ rva: head.readUInt32LE(at), size: head.readUInt32LE(at + 4) });
  }
  const sectionAlignment = head.readUInt32LE(o(OH.sectionAlignment));
  const fileAlignment = head.readUInt32LE(o(OH.fileAlignment));
  const sizeOfHeaders = head.readUInt32LE(o(OH.sizeOfHeaders));
  const sectionTableOffset = optionalHeaderOffset + sizeOfOptionalHeader;

  const sections: PeSection[] = [];
  for (let i = 0; i < numberOfSections; i++) {
    const at = sectionTableOffset + i * SECTION_HEADER_SIZE;
    const rawName = head.subarray(at + SH.name, at + SH.name + 8);
    const nul = rawName.indexOf(0);
    const section: PeSection = {
      name: rawName.subarray(0, nul < 0 ? 8 : nul).toString('latin1'),
      virtualSize: head.readUInt32LE(at + SH.virtualSize),
      virtualAddress: head.readUInt32LE(at + SH.virtualAddress),
      sizeOfRawData: head.readUInt32LE(at + SH.sizeOfRawData),
      pointerToRawData: head.readUInt32LE(at + SH.pointerToRawData),
      characteristics: head.readUInt32LE(at + SH.characteristics),
      headerOffset: at,
    };
    if (section.sizeOfRawData > 0 && section.pointerToRawData + section.sizeOfRawData > fileSize) {
      throw peError(
        what,
        `truncated: section ${JSON.stringify(section.name)} ends at ${section.pointerToRawData + section.sizeOfRawData}, the file has ${fileSize} bytes`,
      );
    }
    sections.push(section);
  }
  const security = dataDirectories[DIR_SECURITY];
  const certificateTable = security !== undefined && security.size > 0 ? security : undefined;
  if (certificateTable && certificateTable.rva + certificateTable.size > fileSize)
    throw peError(what, 'truncated: the certificate table runs past the end of the file');
  return {
    fileSize,
    machine,
    arch: MACHINE_ARCH[machine],
    peOffset,
    fileHeaderOffset,
    optionalHeaderOffset,
    sectionTableOffset,
    numberOfSections,
    timeDateStamp: head.readUInt32LE(f(FH.timeDateStamp)),
    pointerToSymbolTable: head.readUInt32LE(f(FH.pointerToSymbolTable)),
    numberOfSymbols: head.readUInt32LE(f(FH.numberOfSymbols)),
    sizeOfOptionalHeader,
    characteristics: head.readUInt16LE(f(FH.characteristics)),
    magic,
    sizeOfCode: head.readUInt32LE(o(OH.sizeOfCode)),
    sizeOfInitializedData: head.readUInt32LE(o(OH.sizeOfInitializedData)),
    addressOfEntryPoint: head.readUInt32LE(o(OH.addressOfEntryPoint)),
    imageBase: head.readBigUInt64LE(o(OH.imageBase)),
    sectionAlignment,
    fileAlignment,
    sizeOfImage: head.readUInt32LE(o(OH.sizeOfImage)),
    sizeOfHeaders,
    checkSum: head.readUInt32LE(o(OH.checkSum)),
    numberOfRvaAndSizes,
    dataDirectories,
    checkSumOffset: o(OH.checkSum),
    securityDirOffset: o(OH.dataDirectories + 8 * DIR_SECURITY),
    certificateTable,
    sections,
  };
}

/** Reads and parses the headers of a PE file without reading its section data. */
export async function readPe(path: string, what: string): Promise<PeImage> {
  const fh = await open(path, 'r').catch((e: unknown) => {
    throw new FactoryError(
      'BUILD_FAILED',
      `${what}: cannot open (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: e,
      },
    );
  });
  try {
    const { size } = await fh.stat();
    let head = Buffer.alloc(0);
    // A first guess, then exactly what the section table needs (usually one or two reads).
    for (let want = Math.min(size, 4096); ;) {
      head = Buffer.alloc(want);
      const { bytesRead } = await fh.read(head, 0, want, 0);
      head = head.subarray(0, bytesRead);
      const need = Math.min(size, neededBytes(head));
      if (need <= head.length || want >= size) break;
      want = need;
    }
    return parsePe(head, size, what);
  } finally {
    await fh.close();
  }
}

/** Reads one section's raw bytes (at most `sizeOfRawData`, or `virtualSize` when `trim`). */
export async function readSection(path: string, section: PeSection, trim = false): Promise<Buffer> {
  const len = trim ? Math.min(section.virtualSize, section.sizeOfRawData) : section.sizeOfRawData;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, section.pointerToRawData);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
