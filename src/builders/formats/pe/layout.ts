/**
 * PE/COFF (PE32+) layout constants: field offsets, sizes and flag values from the Microsoft PE
 * format specification, in one place so the reader, the UKI writer and the Authenticode signer
 * agree on them.
 */

/** `IMAGE_FILE_MACHINE_AMD64`. */
export const MACHINE_AMD64 = 0x8664;
/** `IMAGE_FILE_MACHINE_ARM64`. */
export const MACHINE_ARM64 = 0xaa64;

/** The architectures this factory builds for, by COFF machine type. */
export const MACHINE_ARCH: Readonly<Record<number, 'amd64' | 'arm64'>> = {
  [MACHINE_AMD64]: 'amd64',
  [MACHINE_ARM64]: 'arm64',
};

/** Optional-header magic of PE32+ (64-bit) images. */
export const PE32PLUS_MAGIC = 0x20b;
/** Optional-header magic of PE32 (32-bit) images, which the writer does not handle. */
export const PE32_MAGIC = 0x10b;

/** Offset of `e_lfanew` (the PE header's file offset) in the DOS header. */
export const DOS_E_LFANEW = 0x3c;
/** Size of the DOS header (`IMAGE_DOS_HEADER`). */
export const DOS_HEADER_SIZE = 0x40;
/** `PE\0\0`. */
export const PE_SIGNATURE = 0x00004550;
/** COFF file header size. */
export const FILE_HEADER_SIZE = 20;
/** PE32+ optional header with all 16 data directories. */
export const OPTIONAL_HEADER64_SIZE = 240;
/** Size of the PE32+ optional header before the data directories. */
export const OPTIONAL_HEADER64_FIXED = 112;
/** Number of data directories in a full optional header. */
export const DATA_DIRECTORY_COUNT = 16;
/** One section table entry. */
export const SECTION_HEADER_SIZE = 40;

/** Offsets inside the COFF file header. */
export const FH = {
  machine: 0,
  numberOfSections: 2,
  timeDateStamp: 4,
  pointerToSymbolTable: 8,
  numberOfSymbols: 12,
  sizeOfOptionalHeader: 16,
  characteristics: 18,
} as const;

/** Offsets inside the PE32+ optional header. */
export const OH = {
  magic: 0,
  majorLinkerVersion: 2,
  minorLinkerVersion: 3,
  sizeOfCode: 4,
  sizeOfInitializedData: 8,
  sizeOfUninitializedData: 12,
  addressOfEntryPoint: 16,
  imageBase: 24,
  sectionAlignment: 32,
  fileAlignment: 36,
  sizeOfImage: 56,
  sizeOfHeaders: 60,
  checkSum: 64,
  numberOfRvaAndSizes: 108,
  dataDirectories: 112,
} as const;

/** Data directory index of the certificate table (its "RVA" is a file offset). */
export const DIR_SECURITY = 4;

/** Offsets inside a section header. */
export const SH = {
  name: 0,
  virtualSize: 8,
  virtualAddress: 12,
  sizeOfRawData: 16,
  pointerToRawData: 20,
  pointerToRelocations: 24,
  pointerToLinenumbers: 28,
  numberOfRelocations: 32,
  numberOfLinenumbers: 34,
  characteristics: 36,
} as const;

/** `IMAGE_SCN_CNT_CODE`. */
export const SCN_CNT_CODE = 0x00000020;
/** `IMAGE_SCN_CNT_INITIALIZED_DATA`. */
export const SCN_CNT_INITIALIZED_DATA = 0x00000040;
/** `IMAGE_SCN_MEM_READ`. */
export const SCN_MEM_READ = 0x40000000;

/** `WIN_CERTIFICATE.wRevision` of Authenticode signatures. */
export const WIN_CERT_REVISION_2_0 = 0x0200;
/** `WIN_CERT_TYPE_PKCS_SIGNED_DATA`. */
export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;

/** Rounds `n` up to a multiple of `alignment` (a power of two or any positive integer). */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
