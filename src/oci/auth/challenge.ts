/**
 * Parses `WWW-Authenticate` headers (RFC 7235): one or more challenges, each a scheme followed by
 * comma-separated `key=value` / `key="quoted value"` parameters.
 */

/** One authentication challenge; parameter names are lowercased. */
export interface AuthChallenge {
  /** Lowercased scheme, e.g. `bearer` or `basic`. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/** Parses a `WWW-Authenticate` value into its challenges (malformed trailing parts are dropped). */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let rest = header;
  const skip = (): void => {
    rest = rest.replace(/^[\s,]+/, '');
  };
  skip();
  while (rest.length > 0) {
    const word = TOKEN.exec(rest);
    if (!word) break;
    rest = rest.slice(word[0].length);
    const afterSpaces = rest.replace(/^[ \t]+/, '');
    if (afterSpaces.startsWith('=')) {
      // `word=` continues the parameters of the current challenge.
      const current = challenges[challenges.length - 1];
      rest = afterSpaces.slice(1).replace(/^[ \t]+/, '');
      let value: string;
      if (rest.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < rest.length && rest[i] !== '"') {
          if (rest[i] === '\\' && i + 1 < rest.length) i++;
          value += rest[i];
          i++;
        }
        rest = rest.slice(i + 1);
      } else {
        const m = /^[^,\s]*/.exec(rest);
        value = m ? m[0] : '';
        rest = rest.slice(value.length);
      }
      if (current) current.params[word[0].toLowerCase()] = value;
    } else {
      challenges.push({ scheme: word[0].toLowerCase(), params: {} });
      rest = afterSpaces;
      // A token68 credential (e.g. `Negotiate abc==`) is not used by registries; skip it.
      const token68 = /^[A-Za-z0-9._~+/-]+=*(?=\s*(,|$))/.exec(rest);
      if (token68 && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=[^=]/.test(rest)) rest = rest.slice(token68[0].length);
    }
    skip();
  }
  return challenges;
}

/** Picks the challenge the client can answer: Bearer preferred over Basic. */
export function pickChallenge(challenges: readonly AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
