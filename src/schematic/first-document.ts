/**
 * Drives the `yaml` package's lexer and parser over the input only as far as the first document
 * (go-yaml never reads later ones), caps the nesting depth while parsing (the composer that follows
 * is recursive), and composes that document.
 */
import { Composer, CST, Lexer, LineCounter, Parser, type Document } from 'yaml';
import { checkDirectives } from './directives.js';
import { yamlSyntaxError } from './errors.js';

/** Maximum nesting of collections accepted in a schematic document. */
export const MAX_DEPTH = 64;

// The composer's recursion depth follows the parser's stack; one nesting level uses at most two entries.
const MAX_PARSER_STACK = 2 * MAX_DEPTH + 8;

// Lexemes that start the next document.
const NEXT_DOCUMENT = new Set(['doc-start', 'doc-end', 'directive-line']);

/** The first document, composed, with its concrete syntax tree. */
export interface FirstDocument {
  readonly doc: Document.Parsed;
  readonly cst: CST.Document;
}

/**
 * Parses up to the end of the first document (its closing `---`/`...`/directive, or the end of
 * input) and composes it; undefined when the stream holds no document. Stream-level error tokens
 * that follow the first document still belong to it (libyaml reports them while finishing it).
 */
export function composeFirstDocument(
  source: string,
  lineCounter: LineCounter,
  hooks: ComposeHooks = {},
): FirstDocument | undefined {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0); // Parser.parse() does this; we drive Parser.next() ourselves
  const tokens: CST.Token[] = [];
  let seenDocument = false;
  let ended = false;
  let seenError = false;
  const take = (token: CST.Token): boolean => {
    if (token.type === 'document' && seenDocument) return false; // a later document: never read
    if (token.type === 'document') seenDocument = true;
    // Only the first error is ever reported; `}`×200k would otherwise compose 200k error objects.
    if (token.type === 'error') {
      if (seenError) return true;
      seenError = true;
    }
    tokens.push(token);
    return true;
  };
  outer: for (const lexeme of new Lexer().lex(source, false)) {
    if (seenDocument && NEXT_DOCUMENT.has(CST.tokenType(lexeme) ?? '')) break;
    for (const token of parser.next(lexeme)) {
      if (!take(token)) {
        ended = true;
        break outer;
      }
    }
    if (parser.stack.length > MAX_PARSER_STACK) {
      throw yamlSyntaxError(lineCounter.lineStarts.length, `exceeded max depth of ${MAX_DEPTH}`);
    }
  }
  if (!ended) for (const token of parser.end()) if (!take(token)) break;
  const first = tokens.findIndex((t) => t.type === 'document');
  // libyaml processes the directives when it starts a document, also one that never comes.
  checkDirectives(first < 0 ? tokens : tokens.slice(0, first), lineCounter);
  if (first < 0) return undefined;
  checkLeadingDocumentEnd(tokens, first, lineCounter);
  const cst = tokens[first] as CST.Document;
  hooks.beforeCompose?.(cst);
  const composer = new Composer({
    schema: 'failsafe',
    resolveKnownTags: false,
    uniqueKeys: false,
    merge: false,
    prettyErrors: false,
    strict: true,
  });
  if (hooks.onError) listenForErrors(composer, hooks.onError);
  for (const token of tokens) for (const doc of composer.next(token)) return { doc, cst };
  for (const doc of composer.end()) return { doc, cst };
  return undefined;
}

/**
 * Called for every error the composer finds, in the order it finds them (the order of
 * `doc.errors`); it may throw to stop composing. Hostile inputs produce one error per token, and
 * creating hundreds of thousands of error objects is what made them slow.
 */
export type ComposeErrorListener = (offset: number, code: string, message: string) => void;

/** Optional hooks of {@link composeFirstDocument}. */
export interface ComposeHooks {
  /** Sees the first document's syntax tree before it is composed. */
  beforeCompose?: (cst: CST.Document) => void;
  onError?: ComposeErrorListener;
}

type ErrorSource = number | readonly number[] | { offset: number };
type OnError = (source: ErrorSource, code: string, message: string, warning?: boolean) => void;

/** Hooks `listener` in front of the composer's own (private) error collector. */
function listenForErrors(composer: Composer, listener: ComposeErrorListener): void {
  const target = composer as unknown as { onError: OnError };
  const collect = target.onError;
  target.onError = (source, code, message, warning) => {
    if (!warning) {
      const offset =
        typeof source === 'number' ? source : 'offset' in source ? source.offset : (source[0] ?? 0);
      listener(offset, code, message);
    }
    collect(source, code, message, warning);
  };
}

/**
 * libyaml takes a stream that starts with `...` as an implicit document with no content and fails
 * ("did not find expected node content"); the `yaml` package reads it as an empty document.
 */
function checkLeadingDocumentEnd(
  tokens: readonly CST.Token[],
  first: number,
  lineCounter: LineCounter,
): void {
  const doc = tokens[first];
  if (doc?.type !== 'document' || doc.value !== undefined || doc.start.some((t) => t.type === 'doc-start'))
    return;
  const next = tokens
    .slice(first + 1)
    .find((t) => t.type !== 'comment' && t.type !== 'newline' && t.type !== 'space');
  if (next?.type === 'doc-end') {
    throw yamlSyntaxError(lineCounter.linePos(next.offset).line, 'did not find expected node content');
  }
}
