/**
 * An ordered, multi-valued kernel command line with go-procfs v0.1.2 `Cmdline` semantics
 * (talos-imager §3.1, errata §1), because the imager's output bytes depend on them:
 * - keys keep the position of their first appearance; all values of a key print together;
 * - an empty value prints as a bare key (`slab_nomerge=` → `slab_nomerge`);
 * - `set` replaces a key's whole value list in place (or adds the key at the end);
 * - a key whose values were all deleted prints nothing but keeps its position, so a later
 *   append makes it reappear there.
 */

interface Param {
  readonly key: string;
  values: string[];
}

/** Go `unicode.IsSpace` (what `strings.Fields` splits on); differs from JS `\s` (U+0085, U+FEFF). */
const GO_FIELDS = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Options of {@link KernelCmdline.appendAll}. */
export interface AppendAllOptions {
  /** Keys whose value list is replaced instead of appended to. */
  readonly overwrite?: readonly string[];
  /** `-key` deletes the key, `-key=v` deletes the value `v` (Talos ≥ 1.6 imagers). */
  readonly deleteNegated?: boolean;
}

/** Splits args into key groups (go-procfs `parse`): first `=` separates key and value. */
function parseGroups(args: readonly string[]): Param[] {
  const groups: Param[] = [];
  // A Map index keeps this linear: user args can number in the tens of thousands.
  const byKey = new Map<string, Param>();
  for (const field of args.join(' ').split(GO_FIELDS)) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = eq === -1 ? field : field.slice(0, eq);
    const value = eq === -1 ? '' : field.slice(eq + 1);
    const existing = byKey.get(key);
    if (existing) existing.values.push(value);
    else {
      const g = { key, values: [value] };
      groups.push(g);
      byKey.set(key, g);
    }
  }
  return groups;
}

/** A kernel command line under construction. */
export class KernelCmdline {
  private readonly params: Param[] = [];
  /** key → its entry in `params` (lookups stay O(1) however many args a schematic carries). */
  private readonly index = new Map<string, Param>();

  /** Parses a cmdline string (whitespace-separated `key[=value]` fields). */
  static parse(text: string): KernelCmdline {
    const c = new KernelCmdline();
    for (const g of parseGroups([text])) c.set(g.key, g.values);
    return c;
  }

  /** Values of `key` (empty when all were deleted), or undefined when the key never appeared. */
  get(key: string): readonly string[] | undefined {
    return this.index.get(key)?.values.slice();
  }

  /** Adds one value to `key` (duplicates allowed), adding the key at the end if new. */
  append(key: string, value: string): this {
    const p = this.index.get(key);
    if (p) p.values.push(value);
    else this.set(key, [value]);
    return this;
  }

  /** Replaces the whole value list of `key` in place, or adds the key at the end. */
  set(key: string, values: readonly string[]): this {
    const p = this.index.get(key);
    if (p) p.values = [...values];
    else {
      const param = { key, values: [...values] };
      this.params.push(param);
      this.index.set(key, param);
    }
    return this;
  }

  /** Parses `args` and sets every key they mention to exactly their values. */
  setAll(args: readonly string[]): this {
    for (const g of parseGroups(args)) this.set(g.key, g.values);
    return this;
  }

  /** Removes the listed values of `key` (the key keeps its position, possibly with no values). */
  delete(key: string, values: readonly string[]): this {
    const p = this.index.get(key);
    if (p) p.values = p.values.filter((v) => !values.includes(v));
    return this;
  }

  /** Removes `key` entirely. */
  deleteAll(key: string): this {
    const p = this.index.get(key);
    if (p) {
      this.params.splice(this.params.indexOf(p), 1);
      this.index.delete(key);
    }
    return this;
  }

  /** Parses `args` and merges them: delete negated keys, overwrite listed keys, append the rest. */
  appendAll(args: readonly string[], options: AppendAllOptions = {}): this {
    const overwrite = options.overwrite ?? [];
    for (const g of parseGroups(args)) {
      // A lone `-` is a valid kernel arg (end of options), not a negation.
      if (options.deleteNegated && g.key.length > 1 && g.key.startsWith('-')) {
        const target = g.key.slice(1);
        // go-procfs looks only at the group's FIRST value: `-key` first → drop the key entirely.
        if (g.values[0] === '') this.deleteAll(target);
        else this.delete(target, g.values);
        continue;
      }
      if (overwrite.includes(g.key)) {
        this.set(g.key, g.values);
        continue;
      }
      for (const v of g.values) this.append(g.key, v);
    }
    return this;
  }

  /** Renders `key=value` / bare `key` tokens separated by single spaces (go-procfs `String`). */
  toString(): string {
    let s = '';
    for (const p of this.params) {
      for (const v of p.values) s += v === '' ? `${p.key} ` : `${p.key}=${v} `;
    }
    // Go trims every trailing space (a `=` arg parses to an empty key and value, printing "").
    return s.replace(/ +$/, '');
  }
}
