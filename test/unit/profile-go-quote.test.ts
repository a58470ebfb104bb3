import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goQuote } from '../../src/profile/go-quote.js';

describe('goQuote (Go strconv.Quote)', () => {
  const cases: [string, string][] = [
    ['metal-amd64.ssd', '"metal-amd64.ssd"'],
    ['', '""'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\x07\b\f\n\r\t\v', '"\\a\\b\\f\\n\\r\\t\\v"'],
    ['\x00\x1b\x7f', '"\\x00\\x1b\\x7f"'],
    ['tälos ✓ 日本', '"tälos ✓ 日本"'],
    ['\u00a0\u2028\u200b', '"\\u00a0\\u2028\\u200b"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ['\u{E0001}', '"\\U000e0001"'],
    ['\ud800', '"\\ufffd"'],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => assert.equal(goQuote(input), expected));
  }
});
