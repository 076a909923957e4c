import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { normalizeWord, parseJsonWords, parseTextWords, extractWords, readWordAnswer, wordKey } from '../../../src/llm/parse';
import { retryAfterMs } from '../../../src/llm/generate';

test('normalizeWord strips numbering, bullets, quotes, markdown and trailing punctuation', () => {
  assert.equal(normalizeWord('  12. "Snow   Goose". ', true), 'snow goose');
  assert.equal(normalizeWord('- **Roseate Spoonbill**', true), 'roseate spoonbill');
  assert.equal(normalizeWord('(3) ‘Jet-black hair’', false), 'Jet-black hair');
  assert.equal(normalizeWord('• Black-and-white Warbler,', false), 'Black-and-white Warbler');
  // numbers that are part of the word survive
  assert.equal(normalizeWord('1950s diner', true), '1950s diner');
});

test('wordKey makes de-duplication case- and space-insensitive', () => {
  assert.equal(wordKey(' Snow  Goose'), wordKey('snow goose'));
});

test('parseJsonWords accepts {words}, a bare array, fenced JSON and one array under another key', () => {
  assert.deepEqual(parseJsonWords('{"words":["a","b"]}'), ['a', 'b']);
  assert.deepEqual(parseJsonWords('["a"]'), ['a']);
  assert.deepEqual(parseJsonWords('```json\n{"words": ["x"]}\n```'), ['x']);
  assert.deepEqual(parseJsonWords('{"landbird": ["robin"]}'), ['robin']);
  assert.equal(parseJsonWords('{"words": [1, 2]}'), undefined);
  assert.equal(parseJsonWords('1. robin'), undefined);
});

test('parseTextWords keeps only list items from prose and cuts explanations', () => {
  const prose =
    'Sure! Here are kinds of landbirds:\n\n1. **American Robin** - a common thrush\n2) "Blue Jay"\n3. Northern cardinal.\n- Wild turkey: large and brown\n\nLet me know if you need more!';
  assert.deepEqual(
    parseTextWords(prose).map((w) => normalizeWord(w, true)),
    ['american robin', 'blue jay', 'northern cardinal', 'wild turkey'],
  );
});

test('parseTextWords splits a single comma line, and salvages a truncated JSON answer', () => {
  assert.deepEqual(parseTextWords('ocean, lake; pond'), ['ocean', 'lake', 'pond']);
  assert.deepEqual(parseTextWords('{"words": ["ocean", "lake", "po'), ['ocean', 'lake']);
  assert.deepEqual(extractWords('I cannot help with that request.'), []);
});

test('retryAfterMs reads seconds, HTTP dates and retry-after-ms, capped at a minute', () => {
  // header parsing, no clock involved: `now` is passed in for the HTTP date
  const SECOND = 1e3;
  const wait = (o: Record<string, string>, now?: number) => retryAfterMs(new Headers(o), now);
  assert.equal(wait({ 'retry-after': '2' }), 2 * SECOND);
  assert.equal(wait({ 'retry-after-ms': '150' }), 150);
  assert.equal(wait({ 'retry-after': new Date(10 * SECOND).toUTCString() }, 7 * SECOND), 3 * SECOND);
  assert.equal(wait({ 'retry-after': '3600' }), 60 * SECOND);
  assert.equal(wait({}), undefined);
});

test('readWordAnswer takes the requested JSON or a plausible list, and refuses anything else with the reason', () => {
  const ok = (s: string) => {
    const r = readWordAnswer(s);
    assert.ok(r.ok, `${s}: ${r.ok ? '' : r.why}`);
    return r.words.map((w) => normalizeWord(w, true));
  };
  const why = (s: string) => {
    const r = readWordAnswer(s);
    assert.ok(!r.ok, `${s} is refused`);
    return r.why;
  };
  assert.deepEqual(ok('{"words": ["robin", "blue jay"]}'), ['robin', 'blue jay']);
  assert.deepEqual(ok('ocean, coral reef, mangrove swamp'), ['ocean', 'coral reef', 'mangrove swamp']);
  assert.deepEqual(ok('Here are some:\n1. **St. Bernard**\n2. 1950s diner\n3. black-and-white warbler'), [
    'st. bernard',
    '1950s diner',
    'black-and-white warbler',
  ]);
  // JSON in the requested shape: items that are not short phrases are left out, not the answer
  const r = readWordAnswer('{"words": ["robin", "<<<%%%"]}');
  assert.ok(r.ok && r.dropped.length === 1 && r.words.length === 1);
  assert.match(why('Sure!!! here you go: <<<%%% not json {{{ lorem ipsum'), /not a list of short phrases/);
  assert.match(why('I am sorry, but I cannot help with that request.'), /not a list of short phrases/);
  assert.match(why('<!DOCTYPE html><html><body>Sign in</body></html>'), /HTML page/);
  assert.match(why('{"error": "quota"}'), /JSON, but not the requested/);
  assert.match(why('{"words": ["{{{", "%%%"]}'), /none of the items/);
  assert.match(why('   '), /empty/);
});
