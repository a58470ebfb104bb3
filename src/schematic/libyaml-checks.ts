/**
 * libyaml rules the `yaml` package does not enforce (or enforces differently), checked on the
 * concrete syntax tree and the source: a block mapping entry needs a key (`: x` alone is "did not
 * find expected key"); in block context a tab may not start a line or follow `-`, `?` or an explicit
 * key's `:`; flow plain scalars cannot start with `:` or contain `?`; an implicit flow key fits on one
 * line; and after a flow collection at the root the document ends.
 */
import { isMap, isPair, isScalar, isSeq, type CST, type Document } from 'yaml';

/** A libyaml syntax error: problem text and source offset. */
export interface CstProblem {
  readonly offset: number;
  readonly problem: string;
}

const INDICATORS = new Set(['seq-item-ind', 'explicit-key-ind', 'map-value-ind']);
const TAB_PROBLEM = 'found character that cannot start any token';

/** First libyaml-only syntax problem in a document token, if any. */
export function findCstProblem(doc: CST.Document, source: string): CstProblem | undefined {
  return (
    checkTokens(doc.start, true) ??
    (doc.value ? checkNode(doc.value, source) : undefined) ??
    checkTokens(doc.end ?? [], true)
  );
}

/**
 * After a flow collection at the root, libyaml ends the document: whatever follows belongs to the
 * next document, which is never read. Returns the offset just past the root's closing bracket.
 */
export function flowRootEnd(cst: CST.Document): number {
  const value = cst.value;
  if (value?.type !== 'flow-collection') return Infinity;
  const close = value.end.find((t) => t.type === 'flow-map-end' || t.type === 'flow-seq-end');
  return close ? close.offset + 1 : Infinity;
}

/**
 * libyaml scans a couple of tokens past the end of a flow root before it ends the document, so an
 * unterminated quoted scalar right after it still fails the first document.
 */
export function findUnterminatedAfterRoot(source: string, rootEnd: number): CstProblem | undefined {
  if (rootEnd === Infinity) return undefined;
  const next = /^[ \t\n]*(?:#[^\n]*[ \t\n]*)*(["'])/.exec(source.slice(rootEnd));
  if (!next) return undefined;
  const rest = source.slice(rootEnd + next[0].length);
  const closed = next[1] === "'" ? /^(?:[^']|'')*'/.test(rest) : /^(?:[^"\\]|\\[\s\S])*"/.test(rest);
  return closed ? undefined : { offset: source.length, problem: 'found unexpected end of stream' };
}

/**
 * libyaml refuses a tab in the whitespace that starts a line in block context, also on blank and
 * comment lines; scalars and flow collections keep their own whitespace rules and are skipped.
 */
export function findLineStartTab(
  source: string,
  doc: Document.Parsed,
  rootEnd: number,
): CstProblem | undefined {
  const skipped: [number, number][] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const n = stack.pop();
    if (isPair(n)) stack.push(n.key, n.value);
    else if (isScalar(n) || ((isMap(n) || isSeq(n)) && n.flow)) {
      if (!n.range) continue;
      let from = n.range[0];
      while (source[from] === ' ' || source[from] === '\t') from++;
      skipped.push([from, n.range[1]]);
    } else if (isMap(n) || isSeq(n)) for (const item of n.items) stack.push(item);
  }
  // Ranges are disjoint; tabs are visited in source order, so one forward pointer suffices.
  skipped.sort((a, b) => a[0] - b[0]);
  let next = 0;
  const end = Math.min(doc.range[2], rootEnd, source.length);
  const lineStart = /(?:^|\n)([ \t]*)/g; // from 0: comment lines before the document count too
  for (let m = lineStart.exec(source); m && m.index < end; m = lineStart.exec(source)) {
    const tab = m[1]!.indexOf('\t');
    if (tab >= 0) {
      const at = m.index + m[0].length - m[1]!.length + tab;
      while (next < skipped.length && skipped[next]![1] <= at) next++;
      const inside = next < skipped.length && skipped[next]![0] <= at;
      if (at < end && !inside) return { offset: at, problem: TAB_PROBLEM };
    }
    if (m[0].length === 0) lineStart.lastIndex++;
  }
  return undefined;
}

/** Tabs after block indicators or at the start of a line, in a block-context token list. */
function checkTokens(tokens: readonly CST.SourceToken[], atLineStart: boolean): CstProblem | undefined {
  let lineStart = atLineStart;
  let afterIndicator = false;
  for (const t of tokens) {
    if (t.type === 'space' && t.source.includes('\t') && (lineStart || afterIndicator)) {
      return { offset: t.offset + t.source.indexOf('\t'), problem: TAB_PROBLEM };
    }
    lineStart = t.type === 'newline';
    afterIndicator = INDICATORS.has(t.type);
  }
  return undefined;
}

function checkNode(token: CST.Token, source: string): CstProblem | undefined {
  if (token.type === 'block-map') {
    for (const item of token.items) {
      const hasKey =
        item.key !== undefined && item.key !== null
          ? true
          : item.start.some((t) => t.type === 'explicit-key-ind' || t.type === 'anchor' || t.type === 'tag');
      const valueInd = item.sep?.find((t) => t.type === 'map-value-ind');
      if (!hasKey && valueInd) return { offset: valueInd.offset, problem: 'did not find expected key' };
      // After the `:` of a simple key libyaml allows tabs; only an explicit (`?`) key's `:` forbids them.
      const explicit = item.start.some((t) => t.type === 'explicit-key-ind');
      const p =
        checkTokens(item.start, false) ??
        (item.key ? checkNode(item.key, source) : undefined) ??
        (explicit ? checkTokens(item.sep ?? [], false) : undefined) ??
        (item.value ? checkNode(item.value, source) : undefined);
      if (p) return p;
    }
  } else if (token.type === 'block-seq') {
    for (const item of token.items) {
      const p = checkTokens(item.start, false) ?? (item.value ? checkNode(item.value, source) : undefined);
      if (p) return p;
    }
  }
  if (token.type === 'flow-collection') return checkFlow(token, source);
  // Scalars carry no structure to check.
  return undefined;
}

/**
 * Inside flow collections libyaml reads every `:` that starts a token as a value indicator and ends
 * plain scalars at `?`; the `yaml` package keeps both in the scalar. Those inputs fail in go-yaml.
 */
function checkFlow(token: CST.FlowCollection, source: string): CstProblem | undefined {
  const close = token.start.source === '[' ? ']' : '}';
  for (const item of token.items) {
    const explicit = item.start.some((t) => t.type === 'explicit-key-ind');
    const valueInd = item.sep?.find((t) => t.type === 'map-value-ind');
    if (!explicit && valueInd) {
      // A `:` with no key before it starts no node; an implicit key must fit on one line.
      if (!item.key) return { offset: valueInd.offset, problem: 'did not find expected node content' };
      if (source.slice(item.key.offset, valueInd.offset).includes('\n'))
        return { offset: valueInd.offset, problem: `did not find expected ',' or '${close}'` };
      // `a:[` / `a:{`: libyaml keeps a `:` not followed by a blank inside the plain scalar, which then
      // ends at the bracket, leaving no `,` or closing bracket where one is needed.
      const adjacent =
        item.key.type === 'scalar' && valueInd.offset === item.key.offset + item.key.source.length;
      if (adjacent && /[[{]/.test(source[valueInd.offset + 1] ?? '')) {
        return { offset: valueInd.offset, problem: `did not find expected ',' or '${close}'` };
      }
    }
    for (const part of [item.key, item.value]) {
      if (!part) continue;
      if (part.type === 'scalar') {
        if (part.source.startsWith(':'))
          return { offset: part.offset, problem: 'did not find expected node content' };
        const q = part.source.indexOf('?');
        if (q >= 0) return { offset: part.offset + q, problem: `did not find expected ',' or '${close}'` };
      } else {
        const p = checkNode(part, source);
        if (p) return p;
      }
    }
  }
  return undefined;
}
