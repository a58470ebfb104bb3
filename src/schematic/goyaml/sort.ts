/**
 * go-yaml's map key order (sorter.go `keyList.Less`): numbers and bools numerically, strings in a
 * "natural" order where digit runs compare by value, other kinds by Go reflect.Kind number.
 */
import { codePoints, isUnicodeDigit, isUnicodeLetter } from './chars.js';
import type { GoNode } from './node.js';

const INT64_MAX = 2n ** 63n - 1n;

// Go reflect.Kind numbers of the values a key can hold.
const KIND = {
  bool: 1,
  int: 2,
  uint64: 11,
  float64: 14,
  iface: 20,
  map: 21,
  slice: 23,
  string: 24,
  struct: 25,
};

function kindOf(n: GoNode): number {
  switch (n.kind) {
    case 'null':
      return KIND.iface; // a nil interface key stays an Interface value
    case 'bool':
      return KIND.bool;
    case 'int':
      return n.value > INT64_MAX ? KIND.uint64 : KIND.int;
    case 'float':
      return KIND.float64;
    case 'string':
      return KIND.string;
    case 'time':
    case 'struct':
      return KIND.struct;
    case 'seq':
      return KIND.slice;
    case 'map':
      return KIND.map;
  }
}

function keyFloat(n: GoNode): number | undefined {
  if (n.kind === 'int') return Number(n.value);
  if (n.kind === 'float') return n.value;
  if (n.kind === 'bool') return n.value ? 1 : 0;
  return undefined;
}

function numLess(a: GoNode, b: GoNode): boolean {
  if (a.kind === 'int' && b.kind === 'int') return a.value < b.value;
  if (a.kind === 'float' && b.kind === 'float') return a.value < b.value;
  if (a.kind === 'bool' && b.kind === 'bool') return !a.value && b.value;
  return false;
}

/** go-yaml `keyList.Less(a, b)`. */
export function keyLess(a: GoNode, b: GoNode): boolean {
  const ak = kindOf(a);
  const bk = kindOf(b);
  const af = keyFloat(a);
  const bf = keyFloat(b);
  if (af !== undefined && bf !== undefined) {
    if (af !== bf) return af < bf;
    if (ak !== bk) return ak < bk;
    return numLess(a, b);
  }
  if (a.kind !== 'string' || b.kind !== 'string') return ak < bk;
  return naturalLess(a.value, b.value);
}

/** The string part of `keyLess`: rune-wise, letters vs non-letters, digit runs by value. */
export function naturalLess(as: string, bs: string): boolean {
  const ar = codePoints(as);
  const br = codePoints(bs);
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i]!;
    const bc = br[i]!;
    if (ac === bc) {
      digits = isUnicodeDigit(ac);
      continue;
    }
    const al = isUnicodeLetter(ac);
    const bl = isUnicodeLetter(bc);
    if (al && bl) return ac < bc;
    if (al || bl) return digits ? al : bl;
    // Go accumulates digit runs in an int64 that silently wraps; BigInt.asIntN reproduces that.
    let an = 0n;
    let bn = 0n;
    if (ac === 0x30 || bc === 0x30) {
      for (let j = i - 1; j >= 0 && isUnicodeDigit(ar[j]!); j--) {
        if (ar[j] !== 0x30) {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isUnicodeDigit(ar[ai]!); ai++)
      an = BigInt.asIntN(64, an * 10n + BigInt(ar[ai]! - 0x30));
    let bi = i;
    for (; bi < br.length && isUnicodeDigit(br[bi]!); bi++)
      bn = BigInt.asIntN(64, bn * 10n + BigInt(br[bi]! - 0x30));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ac < bc;
  }
  return ar.length < br.length;
}

/** Map entries in go-yaml output order. */
export function sortEntries<T>(entries: readonly (readonly [GoNode, T])[]): (readonly [GoNode, T])[] {
  return [...entries].sort(([a], [b]) => (keyLess(a, b) ? -1 : keyLess(b, a) ? 1 : 0));
}
