/**
 * Syntax layer: parses the first YAML document with the `yaml` package and converts it into a node
 * tree shaped like go-yaml v3's `yaml.Node` (kind, resolved tag, text, line), which the decoder then
 * interprets with go-yaml's rules. Where libyaml (YAML 1.1) reads text differently from the `yaml`
 * package (YAML 1.2), the input is normalised first or the difference is checked explicitly.
 */
import {
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  LineCounter,
  Scalar,
  type Document,
  type ParsedNode,
} from 'yaml';
import { yamlSyntaxError } from './errors.js';
import { composeFirstDocument, MAX_DEPTH } from './first-document.js';
import { resolveScalar, shortTag, TAG } from './goyaml/resolve.js';
import {
  findCstProblem,
  findLineStartTab,
  findUnterminatedAfterRoot,
  flowRootEnd,
} from './libyaml-checks.js';
import { decodeQuotedScalar, foldPlainScalar, QuotedScalarError } from './quoted.js';

export { MAX_DEPTH } from './first-document.js';

/** A node as go-yaml v3's parser builds it. */
export interface YNode {
  readonly kind: 'scalar' | 'mapping' | 'sequence' | 'alias';
  /** go-yaml `Node.Tag`: the explicit short tag, else the default (`!!str` when quoted) or resolved one. */
  readonly tag: string;
  /** Scalar text, or the anchor name for an alias. */
  readonly value: string;
  /** 1-based line of the node's first character. */
  readonly line: number;
  /** Mapping: key, value, key, value…; sequence: items. */
  readonly content: readonly YNode[];
  /** Alias target. */
  readonly alias?: YNode;
}

/** Parses the first document of `text`; undefined when the stream has no document (go-yaml: EOF). */
export function parseFirstDocument(text: string): YNode | undefined {
  // libyaml (YAML 1.1) reads CR LF, a lone CR and NEL as one "\n" line break everywhere.
  const source = text.replace(/\r\n?|\u0085/g, '\n');
  // LS and PS are line breaks for libyaml's structure too, but stay in scalar content; parse with
  // them as "\n" (same length, so offsets still match `source`) and read scalar text from `source`.
  const structural = source.replace(/[\u2028\u2029]/g, '\n');
  const lineCounter = new LineCounter();
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
  // The first error checkDocument would report ends composition at once (see ComposeErrorListener).
  let rootEnd = Infinity;
  let stop: Error | undefined;
  const composed = composeFirstDocument(structural, lineCounter, {
    beforeCompose: (cst) => (rootEnd = flowRootEnd(cst)),
    onError: (offset, code, message) => {
      // The library may catch and re-report a thrown error: keep the first one as it is.
      if (stop) throw stop;
      if (!IGNORED_ERRORS.has(code) && offset < rootEnd) {
        stop = yamlSyntaxError(lineOf(offset), firstLine(message));
        throw stop;
      }
    },
  });
  if (!composed) return undefined;
  const { doc, cst } = composed;
  checkDocument(doc, rootEnd, lineOf);
  const problem =
    findUnterminatedAfterRoot(structural, rootEnd) ??
    findCstProblem(cst, structural) ??
    findLineStartTab(structural, doc, rootEnd);
  if (problem) throw yamlSyntaxError(lineOf(problem.offset), problem.problem);
  return new TreeBuilder(source, lineOf).build(doc.contents, 0);
}

// Codes the tree builder re-checks with go-yaml's own rules.
const IGNORED_ERRORS = new Set(['TAG_RESOLVE_FAILED', 'BAD_DQ_ESCAPE']);

/** Rejects the document if the `yaml` package found an error libyaml would also report. */
function checkDocument(doc: Document.Parsed, rootEnd: number, lineOf: (offset: number) => number): void {
  const error = doc.errors.find((e) => !IGNORED_ERRORS.has(e.code) && e.pos[0] < rootEnd);
  if (error) throw yamlSyntaxError(lineOf(error.pos[0]), firstLine(error.message));
  // Directives (%YAML version, duplicates, unknown names) are checked in `directives.ts`.
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

type Parsed = ParsedNode | null | undefined;

/** Converts `yaml` package nodes into YNodes, resolving aliases in document order like go-yaml. */
class TreeBuilder {
  private readonly anchors = new Map<string, YNode>();

  constructor(
    private readonly source: string,
    private readonly lineOf: (offset: number) => number,
  ) {}

  build(node: Parsed, depth: number, fallbackOffset = 0): YNode {
    if (!node) return nullScalar(this.lineOf(fallbackOffset));
    const line = this.lineOf(node.range[0]);
    if (isAlias(node)) {
      checkAnchorName(node.source, line);
      const target = this.anchors.get(node.source);
      if (!target) throw yamlSyntaxError(line, `unknown anchor '${node.source}' referenced`);
      return { kind: 'alias', tag: '', value: node.source, line, content: [], alias: target };
    }
    if (isScalar(node)) return this.anchor(node.anchor, this.scalar(node, line));
    if (depth >= MAX_DEPTH) throw yamlSyntaxError(line, `exceeded max depth of ${MAX_DEPTH}`);
    const tag = node.tag && node.tag !== '!' ? shortTag(node.tag) : isMap(node) ? TAG.map : TAG.seq;
    const content: YNode[] = [];
    // Registered before the children: an alias inside its own anchor refers to it (go-yaml does the same).
    const self = this.anchor(node.anchor, {
      kind: isMap(node) ? 'mapping' : 'sequence',
      tag,
      value: '',
      line,
      content,
    });
    if (isMap(node)) {
      for (const pair of node.items) {
        content.push(this.build(pair.key, depth + 1, node.range[0]));
        content.push(this.build(pair.value, depth + 1, node.range[0]));
      }
    } else {
      for (const item of node.items) {
        if (isPair(item)) {
          // `[a: b]`: a single-pair mapping inside a flow sequence.
          content.push(this.singlePair(asParsed(item.key), asParsed(item.value), depth + 1, node.range[0]));
        } else {
          content.push(this.build(item, depth + 1, node.range[0]));
        }
      }
    }
    return self;
  }

  private singlePair(key: Parsed, value: Parsed, depth: number, offset: number): YNode {
    if (depth >= MAX_DEPTH) throw yamlSyntaxError(this.lineOf(offset), `exceeded max depth of ${MAX_DEPTH}`);
    const line = key?.range ? this.lineOf(key.range[0]) : this.lineOf(offset);
    const content = [this.build(key, depth + 1, offset), this.build(value, depth + 1, offset)];
    return { kind: 'mapping', tag: TAG.map, value: '', line, content };
  }

  /**
   * A block scalar whose last content line ends the input without a line break: libyaml has no
   * final break to keep, the `yaml` package adds one. Drop it to match go-yaml.
   */
  private blockScalarAtEof(node: Scalar.Parsed, value: string): string {
    const raw = this.source.slice(node.range[0], node.range[2]);
    const afterEnd = this.source.slice(node.range[2]);
    const lastBreak = raw.search(/[\r\n][^\r\n]*$/);
    if (lastBreak < 0 || /[^ \t]/.test(afterEnd) || /[\r\n]/.test(afterEnd)) return value;
    const lastLine = raw.slice(lastBreak + 1);
    return /[^ \t]/.test(lastLine) && value.endsWith('\n') ? value.slice(0, -1) : value;
  }

  private anchor(name: string | undefined, node: YNode): YNode {
    if (name) {
      checkAnchorName(name, node.line);
      this.anchors.set(name, node);
    }
    return node;
  }

  private scalar(node: Scalar.Parsed, line: number): YNode {
    const type = node.type ?? Scalar.PLAIN;
    let value: string;
    if (type === Scalar.QUOTE_DOUBLE || type === Scalar.QUOTE_SINGLE) {
      try {
        value = decodeQuotedScalar(
          this.source.slice(node.range[0], node.range[1]),
          type === Scalar.QUOTE_SINGLE,
        );
      } catch (e) {
        if (e instanceof QuotedScalarError) throw yamlSyntaxError(line, e.message);
        throw e;
      }
    } else if (type === Scalar.PLAIN) {
      value = typeof node.source === 'string' ? node.source : String(node.value);
      const raw = this.source.slice(node.range[0], node.range[1]);
      // A plain scalar folded across LS/PS keeps those breaks (libyaml folds only "\n" to a space).
      if (/[\u2028\u2029]/.test(raw)) value = foldPlainScalar(raw);
    } else {
      if (/[\u2028\u2029]/.test(this.source.slice(node.range[0], node.range[2]))) {
        throw yamlSyntaxError(line, 'U+2028/U+2029 line separators in block scalars are not supported');
      }
      value = typeof node.source === 'string' ? node.source : String(node.value);
      value = this.blockScalarAtEof(node, value);
    }
    let tag: string;
    if (node.tag && node.tag !== '!') tag = shortTag(node.tag);
    else if (type !== Scalar.PLAIN) tag = TAG.str;
    else if (value === '<<') tag = TAG.merge;
    else tag = resolveScalar('', value).tag;
    return { kind: 'scalar', tag, value, line, content: [] };
  }
}

/** libyaml anchor and alias names are alphanumeric plus `-` and `_`. */
function checkAnchorName(name: string, line: number): void {
  if (!/^[0-9A-Za-z_-]+$/.test(name))
    throw yamlSyntaxError(line, 'did not find expected alphabetic or numeric character');
}

/** Narrows a pair member of a parsed document (always a node or null) to the parsed node type. */
function asParsed(v: unknown): Parsed {
  return isNode(v) ? (v as ParsedNode) : null;
}

function nullScalar(line: number): YNode {
  return { kind: 'scalar', tag: TAG.null, value: '', line, content: [] };
}
