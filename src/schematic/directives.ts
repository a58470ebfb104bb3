/**
 * libyaml's rules for the directives before a document, which the `yaml` package does not enforce
 * (it warns, or keeps the last one): one `%YAML` directive at most, and only version 1.1; one
 * `%TAG` directive per handle; no directive other than `%YAML` and `%TAG`.
 */
import type { CST, LineCounter } from 'yaml';
import type { FactoryError } from '../errors.js';
import { invalidSchematic } from './errors.js';

/**
 * go-yaml's line prefix: parser errors name the 0-based line of the offending token, scanner
 * errors the 1-based one; either way no prefix when that number is 0 (go-yaml's `parser.fail`).
 */
function goYamlError(line: number, problem: string): FactoryError {
  return invalidSchematic(line === 0 ? `yaml: ${problem}` : `yaml: line ${line}: ${problem}`);
}

/** Checks the directive tokens in `tokens` (those before the first document) the way libyaml does. */
export function checkDirectives(tokens: readonly CST.Token[], lineCounter: LineCounter): void {
  let yamlSeen = false;
  const handles = new Set<string>();
  for (const t of tokens) {
    if (t.type !== 'directive') continue;
    const line1 = lineCounter.linePos(t.offset).line;
    const name = /^%([0-9A-Za-z_-]*)/.exec(t.source)?.[1] ?? '';
    if (name === 'YAML') {
      if (yamlSeen) throw goYamlError(line1 - 1, 'found duplicate %YAML directive');
      yamlSeen = true;
      const v = /^%YAML[ \t]+(\d+)\.(\d+)(?=[ \t]|$)/.exec(t.source);
      if (!v) throw goYamlError(line1 === 1 ? 0 : line1, 'did not find expected version number');
      if (Number(v[1]) !== 1 || Number(v[2]) !== 1)
        throw goYamlError(line1 - 1, 'found incompatible YAML document');
    } else if (name === 'TAG') {
      const handle = /^%TAG[ \t]+(\S+)/.exec(t.source)?.[1];
      if (handle === undefined) continue; // a malformed %TAG is reported by the `yaml` package
      if (handles.has(handle)) throw goYamlError(line1 - 1, 'found duplicate %TAG directive');
      handles.add(handle);
    } else {
      throw goYamlError(line1 === 1 ? 0 : line1, 'found unknown directive name');
    }
  }
}
