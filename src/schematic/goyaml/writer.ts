/**
 * The low-level output state of the libyaml emitter as go-yaml v3 runs it: column tracking, the
 * "whitespace"/"indention" flags and the indentation stack. Keeping these exact is what makes block
 * scalars, `- ` items and nested mappings land in the same columns as Go's output.
 */
import { LF } from './chars.js';

/** Mutable emitter state plus libyaml's write primitives. */
export class YamlWriter {
  private readonly chunks: string[] = [];
  private readonly indents: number[] = [];
  column = 0;
  /** The last written character was whitespace (no separating space needed). */
  whitespace = true;
  /** Only indentation has been written on the current line. */
  indention = true;
  indent = -1;
  flowLevel = 0;

  constructor(readonly bestIndent: number) {}

  /** The text written so far. */
  text(): string {
    return this.chunks.join('');
  }

  /** `put`: one ASCII character. */
  put(ch: string): void {
    this.chunks.push(ch);
    this.column++;
  }

  /** `put_break`: a newline. */
  putBreak(): void {
    this.chunks.push('\n');
    this.column = 0;
    this.indention = true;
  }

  /** `write`: copy one character of scalar content. */
  writeChar(cp: number): void {
    this.chunks.push(String.fromCodePoint(cp));
    this.column++;
  }

  /** Copies a run of scalar content containing no line breaks; `chars` is its length in characters. */
  writeRun(text: string, chars: number): void {
    this.chunks.push(text);
    this.column += chars;
  }

  /** `write_break`: LF becomes a newline; other breaks (CR, NEL, LS, PS) are copied raw. */
  writeBreak(cp: number): void {
    if (cp === LF) {
      this.putBreak();
      return;
    }
    this.writeChar(cp);
    this.column = 0;
    this.indention = true;
  }

  /** `yaml_emitter_write_indent`: newline if needed, then pad to the current indent. */
  writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace))
      this.putBreak();
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
  }

  /** `yaml_emitter_write_indicator`. */
  writeIndicator(
    indicator: string,
    needWhitespace: boolean,
    isWhitespace: boolean,
    isIndention: boolean,
  ): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    for (const ch of indicator) this.writeChar(ch.codePointAt(0) ?? 0);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  /**
   * `yaml_emitter_increase_indent` with go-yaml's change: inside a block sequence item the indent
   * only skips the "- " (+2); elsewhere it rounds up to the next multiple of the best indent.
   */
  increaseIndent(flow: boolean, indentless: boolean, inSequenceItem: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) {
      this.indent = flow ? this.bestIndent : 0;
    } else if (!indentless) {
      this.indent = inSequenceItem
        ? this.indent + 2
        : this.bestIndent * Math.floor((this.indent + this.bestIndent) / this.bestIndent);
    }
  }

  /** Restores the indent saved by the matching increaseIndent. */
  popIndent(): void {
    this.indent = this.indents.pop() ?? -1;
  }
}
