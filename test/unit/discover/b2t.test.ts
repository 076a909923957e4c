// The B2T score and its bootstrap interval on hand-made similarities and embeddings, the
// template averaging, candidate merging, and the grouping edit that writes a discovered
// spurious attribute into an experiment file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b2tScore, drawResamples, quantileSorted, topRows } from '../../../src/engine/math/b2t';
import { averageTemplates } from '../../../src/engine/steps/discover';
import { candidateKey, mergeCandidates, BUILTIN_CONCEPTS, BUILTIN_ORIGIN } from '../../../src/engine/text/candidates';
import { createRng } from '../../../src/engine/math/rng';
import { applySpuriousGrouping, EditError, parseExperimentText } from '../../../src/experiment';

test('score = mean over misclassified - mean over correct, from cosines of normalised embeddings', () => {
  // 2-D unit vectors: the keyword points along x; misclassified images lean towards it
  const keyword = [1, 0];
  const angle = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
  const wrongImgs = [angle(0), angle(60)]; // cos 1, 0.5
  const rightImgs = [angle(90), angle(120), angle(60)]; // cos 0, -0.5, 0.5
  const cos = (v: number[]) => v[0] * keyword[0] + v[1] * keyword[1];
  const w = wrongImgs.map(cos);
  const r = rightImgs.map(cos);
  const s = b2tScore(w, r, drawResamples(w.length, r.length, { resamples: 200, seed: 1 }), 0.95);
  assert.ok(Math.abs(s.meanMisclassified - 0.75) < 1e-12);
  assert.ok(Math.abs(s.meanCorrect - 0) < 1e-12);
  assert.ok(Math.abs(s.score - 0.75) < 1e-12);
  assert.ok(s.ci[0] <= s.score && s.score <= s.ci[1]);
});

test('the interval: seeded, excludes 0 for a real shift, covers 0 for noise, narrows with more images', () => {
  const rng = createRng(7);
  const sample = (n: number, mu: number) => Array.from({ length: n }, () => mu + 0.1 * rng.normal());
  const shifted = { w: sample(60, 0.3), r: sample(200, 0.2) };
  const resamples = (seed: number) => drawResamples(60, 200, { resamples: 1_000, seed });
  const res = resamples(3);
  const a = b2tScore(shifted.w, shifted.r, res, 0.95);
  assert.ok(a.ci[0] > 0, `a 0.1 shift with 60 vs 200 samples: interval ${a.ci} should exclude 0`);
  // same seed, same interval; another seed, a slightly different one
  assert.deepEqual(b2tScore(shifted.w, shifted.r, resamples(3), 0.95).ci, a.ci);
  assert.notDeepEqual(b2tScore(shifted.w, shifted.r, resamples(4), 0.95).ci, a.ci);

  const noise = { w: sample(60, 0.2), r: sample(200, 0.2) };
  const b = b2tScore(noise.w, noise.r, res, 0.95);
  assert.ok(b.ci[0] < 0 && b.ci[1] > 0, `no shift: interval ${b.ci} should cover 0`);

  const big = { w: sample(600, 0.3), r: sample(2000, 0.2) };
  const c = b2tScore(big.w, big.r, drawResamples(600, 2000, { resamples: 1000, seed: 3 }), 0.95);
  assert.ok(c.ci[1] - c.ci[0] < (a.ci[1] - a.ci[0]) / 2, 'ten times the images: an interval about a third as wide');
  // a 50% interval is inside the 95% one
  const half = b2tScore(shifted.w, shifted.r, res, 0.5);
  assert.ok(half.ci[0] >= a.ci[0] && half.ci[1] <= a.ci[1]);
});

test('quantiles as numpy (linear), gallery rows by similarity', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([1, 2, 3, 4], 0), 1);
  assert.equal(quantileSorted([1, 2, 3, 4], 1), 4);
  assert.deepEqual(topRows([0.1, 0.9, 0.5], [10, 11, 12], 2), [11, 12]);
  assert.throws(() => b2tScore([], [1], drawResamples(0, 1, { resamples: 1, seed: 1 }), 0.95));
});

test('template averaging: each template normalised, averaged, normalised', () => {
  // one word, two templates of different lengths: the long one must not dominate
  const data = Float32Array.from([10, 0, 0, 1]);
  const out = averageTemplates(data, 1, 2, 2);
  assert.ok(Math.abs(out[0] - Math.SQRT1_2) < 1e-6 && Math.abs(out[1] - Math.SQRT1_2) < 1e-6);
});

test('candidates: merged up to case, spaces and plurals, first spelling kept, every source recorded', () => {
  assert.equal(candidateKey('  Oceans '), 'ocean');
  assert.equal(candidateKey('Palm  Trees'), 'palm tree');
  assert.equal(candidateKey('berries'), 'berry');
  assert.equal(candidateKey('grass'), 'grass');
  assert.equal(candidateKey('boxes'), 'box');
  const merged = mergeCandidates([
    { source: 'builtin', words: ['ocean', 'forest', 'grass'] },
    { source: 'llm', words: ['Forests', 'sand dunes', ''] },
    { source: 'user', words: ['Ocean', 'bamboo'] },
  ]);
  assert.deepEqual(merged, [
    { keyword: 'Ocean', sources: ['user', 'builtin'], variants: ['Ocean', 'ocean'] },
    { keyword: 'bamboo', sources: ['user'], variants: ['bamboo'] },
    { keyword: 'Forests', sources: ['llm', 'builtin'], variants: ['Forests', 'forest'] },
    { keyword: 'sand dunes', sources: ['llm'], variants: ['sand dunes'] },
    { keyword: 'grass', sources: ['builtin'], variants: ['grass'] },
  ]);
  assert.ok(BUILTIN_CONCEPTS.length >= 300, 'a few hundred built-in concepts');
  assert.equal(new Set(BUILTIN_CONCEPTS.map(candidateKey)).size, BUILTIN_CONCEPTS.length, 'no duplicates in the built-in list');
  assert.match(BUILTIN_ORIGIN, /common knowledge/);
});

const DOC = `{
  "version": 1,
  "name": "found",
  "task": {
    "classes": ["landbird", "waterbird"],
    "spurious": { "name": "unknown", "values": ["a", "b"] },
    "targetAnchors": ["a photo of a landbird.", "a photo of a waterbird."],
    "spuriousAnchors": ["a photo of a.", "a photo of b."]
  },
  "models": { "clip": { "dir": "models/clip" }, "classifier": { "path": "models/classifier.onnx" } },
  "data": { "train": { "manifest": "data/train.csv" } },
  "words": {
    "targets": {
      "landbird": [{ "text": "sparrow", "source": "llm" }],
      "waterbird": [{ "text": "duck", "source": "user" }]
    },
    "spurious": { "a": [], "b": [{ "text": "x", "source": "user" }] }
  },
  "settings": { "seed": 3 }
}
`;

test('grouping: writes task.spurious, anchors and spurious words; every other byte unchanged', () => {
  const out = applySpuriousGrouping(DOC, {
    name: 'background',
    values: [
      { name: 'land', words: ['forest', 'bamboo', 'Forest'] },
      { name: 'water', words: ['ocean', 'lake'] },
    ],
  });
  const exp = parseExperimentText('/x/found.tldr.json', out);
  assert.deepEqual(exp.task.spurious, { name: 'background', values: ['land', 'water'] });
  assert.deepEqual(exp.task.spuriousAnchors, ['a photo of a land.', 'a photo of a water.']);
  assert.deepEqual(
    exp.words.spurious.land.map((w) => [w.text, w.source]),
    [
      ['forest', 'user'],
      ['bamboo', 'user'],
    ],
  );
  assert.deepEqual(
    exp.words.spurious.water.map((w) => w.text),
    ['ocean', 'lake'],
  );
  assert.equal(exp.words.spurious.a, undefined, 'the lists of values that are gone are removed');
  // outside task.spurious, the anchors and words.spurious, the text is the same
  const head = DOC.slice(0, DOC.indexOf('"spurious": {'));
  assert.ok(out.startsWith(head));
  const targets = DOC.slice(DOC.indexOf('"words"'), DOC.indexOf('"spurious": { "a"'));
  assert.ok(out.includes(targets), 'class words untouched');
  assert.ok(out.endsWith(`  "settings": { "seed": 3 }\n}\n`));
  // applying the same grouping again changes nothing
  assert.equal(
    applySpuriousGrouping(out, {
      name: 'background',
      values: [
        { name: 'land', words: ['forest', 'bamboo'] },
        { name: 'water', words: ['ocean', 'lake'] },
      ],
    }),
    out,
  );
});

test('grouping: a value that keeps its name keeps its anchor; bad groupings are refused with the fix', () => {
  const out = applySpuriousGrouping(DOC, {
    name: 'unknown',
    values: [
      { name: 'b', words: ['y'] },
      { name: 'c', words: ['z'] },
    ],
  });
  const exp = parseExperimentText('/x/found.tldr.json', out);
  assert.deepEqual(exp.task.spuriousAnchors, ['a photo of b.', 'a photo of a c.']);
  assert.deepEqual(
    exp.words.spurious.b.map((w) => w.text),
    ['x', 'y'],
  );
  const bad =
    (values: { name: string; words: string[] }[], name = 'bg') =>
    () =>
      applySpuriousGrouping(DOC, { name, values });
  assert.throws(bad([{ name: 'land', words: ['forest'] }]), (e: Error) => e instanceof EditError && /at least two values/.test(e.message));
  assert.throws(
    bad([
      { name: 'land', words: ['forest'] },
      { name: 'Land', words: ['lake'] },
    ]),
    /appears twice/,
  );
  assert.throws(
    bad([
      { name: 'land', words: [] },
      { name: 'water', words: ['lake'] },
    ]),
    /no keywords/,
  );
  assert.throws(
    bad(
      [
        { name: 'land', words: ['a'] },
        { name: 'water', words: ['b'] },
      ],
      ' ',
    ),
    /needs a name/,
  );
});
