import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addGeneratedWords,
  applyWordEdit,
  documentState,
  EditError,
  relativeForExperiment,
  removeFailing,
  setSetupPath,
  newExperimentText,
} from '../../../src/experiment';
import { scoreIndex } from '../../../src/protocol/wordScores';
import { minimalReplace, parseJsonTree } from '../../../src/experiment/jsonText';
import type { WordScore } from '../../../src/protocol/events';

// A valid experiment as a person would format it: compact word entries, a trailing section after words.
const DOC = `{
  "name": "birds",
  "task": {
    "classes": ["landbird", "waterbird"],
    "spurious": { "name": "background", "values": ["land", "water"] },
    "targetAnchors": ["a photo of a landbird.", "a photo of a waterbird."],
    "spuriousAnchors": ["a photo of land.", "a photo of water."]
  },
  "models": {
    "clip": { "dir": "models/clip" },
    "classifier": { "path": "models/classifier.onnx" }
  },
  "data": { "train": { "manifest": "data/train.csv" } },
  "words": {
    "targets": {
      "landbird": [
        { "text": "sparrow", "source": "llm" },
        { "text": "forest", "source": "llm" }
      ],
      "waterbird": [
        { "text": "gull", "source": "llm", "locked": true }
      ]
    },
    "spurious": {
      "land": [],
      "water": [{ "text": "ocean", "source": "user" }]
    }
  },
  "settings": { "seed": 7 }
}
`;

const parse = (t: string) =>
  JSON.parse(t) as {
    words: { targets: Record<string, { text: string; source: string; locked?: boolean }[]>; spurious: Record<string, { text: string }[]> };
    settings: unknown;
    name: string;
  };

/** Everything except `words` is unchanged, byte for byte, before and after the words section. */
function assertOutsideWordsUntouched(before: string, after: string) {
  const cut = (t: string) => {
    const root = parseJsonTree(t);
    const words = root.type === 'object' ? root.props.find((p) => p.key === 'words')! : undefined;
    return [t.slice(0, words!.value.offset), t.slice(words!.value.end)];
  };
  assert.deepEqual(cut(after), cut(before));
}

test('documentState: words per class and value, setup paths, no problems for a valid file', () => {
  const s = documentState(DOC, 'birds.tldr.json');
  assert.equal(s.ok, true);
  if (!s.ok) return;
  assert.deepEqual(s.classes, ['landbird', 'waterbird']);
  assert.deepEqual(s.spuriousValues, ['land', 'water']);
  assert.deepEqual(
    s.words.targets.landbird!.map((w) => w.text),
    ['sparrow', 'forest'],
  );
  assert.equal(s.words.targets.waterbird![0]!.locked, true);
  assert.equal(s.words.targets.landbird![0]!.locked, false);
  assert.equal(s.problems, undefined);
  assert.equal(s.setup.find((f) => f.id === 'clip')!.value, 'models/clip');
  assert.equal(s.setup.find((f) => f.id === 'val')!.value, '');
});

test('documentState: invalid JSON gives an error state, never throws', () => {
  const s = documentState(DOC.slice(0, 200), 'broken.tldr.json');
  assert.equal(s.ok, false);
  if (s.ok) return;
  assert.match(s.error, /not valid JSON/);
  assert.equal(documentState('[1,2]', 'x.tldr.json').ok, false);
  assert.equal(documentState('', 'x.tldr.json').ok, false);
});

test('documentState: schema problems are reported but the words stay editable', () => {
  const doc = DOC.replace('"waterbird": [\n        { "text": "gull", "source": "llm", "locked": true }\n      ]', '"seabird": []');
  const s = documentState(doc, 'x.tldr.json');
  assert.equal(s.ok, true);
  if (!s.ok) return;
  assert.match(s.problems ?? '', /words\.targets/);
  // the class still gets a table even though its list is missing
  assert.deepEqual(s.words.targets.waterbird, []);
});

test('add appends a user word in the list style and leaves the rest of the document alone', () => {
  const out = applyWordEdit(DOC, { op: 'add', list: 'targets', group: 'landbird', text: '  heron ' });
  assert.deepEqual(parse(out).words.targets.landbird!.at(-1), { text: 'heron', source: 'user' });
  assert.match(out, /\{ "text": "forest", "source": "llm" \},\n {8}\{ "text": "heron", "source": "user" \}\n/);
  assertOutsideWordsUntouched(DOC, out);
  // into an empty list and a list that does not exist yet
  const out2 = applyWordEdit(DOC, { op: 'add', list: 'spurious', group: 'land', text: 'meadow' });
  assert.deepEqual(parse(out2).words.spurious.land, [{ text: 'meadow', source: 'user' }]);
  const noList = DOC.replace('"land": [],\n', '');
  const out3 = applyWordEdit(noList, { op: 'add', list: 'spurious', group: 'land', text: 'meadow' });
  assert.deepEqual(parse(out3).words.spurious.land, [{ text: 'meadow', source: 'user' }]);
});

test('add refuses a duplicate (case-insensitive)', () => {
  assert.throws(() => applyWordEdit(DOC, { op: 'add', list: 'targets', group: 'landbird', text: 'Sparrow' }), EditError);
});

test("update changes only that entry and marks it as the user's", () => {
  const out = applyWordEdit(DOC, { op: 'update', list: 'targets', group: 'landbird', index: 1, text: 'forest', newText: 'robin' });
  assert.deepEqual(parse(out).words.targets.landbird, [
    { text: 'sparrow', source: 'llm' },
    { text: 'robin', source: 'user' },
  ]);
  const r = minimalReplace(DOC, out)!;
  assert.ok(r.end - r.start < 40, 'the edit touches only the entry');
});

test('update and delete follow the word when the index is stale, and fail when it is gone', () => {
  const out = applyWordEdit(DOC, { op: 'delete', list: 'targets', group: 'landbird', index: 0, text: 'forest' });
  assert.deepEqual(
    parse(out).words.targets.landbird!.map((w) => w.text),
    ['sparrow'],
  );
  assert.throws(() => applyWordEdit(DOC, { op: 'delete', list: 'targets', group: 'landbird', index: 0, text: 'eagle' }), EditError);
});

test('delete the first, the last and the only entry keeps valid JSON', () => {
  const first = applyWordEdit(DOC, { op: 'delete', list: 'targets', group: 'landbird', index: 0, text: 'sparrow' });
  assert.deepEqual(
    parse(first).words.targets.landbird!.map((w) => w.text),
    ['forest'],
  );
  const only = applyWordEdit(DOC, { op: 'delete', list: 'targets', group: 'waterbird', index: 0, text: 'gull' });
  assert.deepEqual(parse(only).words.targets.waterbird, []);
  assertOutsideWordsUntouched(DOC, only);
});

test('lock adds locked: true; unlock removes the property', () => {
  const locked = applyWordEdit(DOC, { op: 'lock', list: 'targets', group: 'landbird', index: 0, text: 'sparrow', locked: true });
  assert.equal(parse(locked).words.targets.landbird![0]!.locked, true);
  assert.match(locked, /\{ "text": "sparrow", "source": "llm", "locked": true \}/);
  const unlocked = applyWordEdit(DOC, { op: 'lock', list: 'targets', group: 'waterbird', index: 0, text: 'gull', locked: false });
  assert.equal('locked' in parse(unlocked).words.targets.waterbird![0]!, false);
});

test('a word that looks like HTML is stored as plain JSON text', () => {
  const w = '<img src=x onerror=alert(1)>';
  const out = applyWordEdit(DOC, { op: 'add', list: 'targets', group: 'landbird', text: w });
  assert.equal(parse(out).words.targets.landbird!.at(-1)!.text, w);
});

test('edits on invalid JSON fail with an EditError', () => {
  assert.throws(() => applyWordEdit('{"words": ', { op: 'add', list: 'targets', group: 'a', text: 'b' }), EditError);
});

test('CRLF documents keep CRLF', () => {
  const crlf = DOC.replace(/\n/g, '\r\n');
  const out = applyWordEdit(crlf, { op: 'add', list: 'targets', group: 'landbird', text: 'heron' });
  assert.equal(out.replace(/\r\n/g, '').includes('\n'), false);
});

test('removeFailing removes scored failing unlocked words only', () => {
  const scores: WordScore[] = [
    { list: 'targets', group: 'landbird', index: 0, text: 'sparrow', clipMargin: 0.1, logitMargin: 0.5, pass: true },
    { list: 'targets', group: 'landbird', index: 1, text: 'forest', clipMargin: -0.1, logitMargin: 0.2, pass: false },
    { list: 'targets', group: 'waterbird', index: 0, text: 'gull', clipMargin: -0.2, pass: false },
  ];
  const { text, removed } = removeFailing(DOC, scores);
  assert.equal(removed, 1);
  assert.deepEqual(
    parse(text).words.targets.landbird!.map((w) => w.text),
    ['sparrow'],
  );
  assert.deepEqual(
    parse(text).words.targets.waterbird!.map((w) => w.text),
    ['gull'],
  );
  assert.equal(removeFailing(DOC, scores, { list: 'spurious' }).removed, 0);
});

test('addGeneratedWords appends new LLM words and skips duplicates', () => {
  const { text, added } = addGeneratedWords(DOC, {
    targets: { landbird: ['Sparrow', 'wren', 'wren', ''] },
    spurious: { land: ['meadow'] },
  });
  assert.equal(added, 2);
  assert.deepEqual(parse(text).words.targets.landbird!.at(-1), { text: 'wren', source: 'llm' });
  assert.deepEqual(parse(text).words.spurious.land, [{ text: 'meadow', source: 'llm' }]);
});

test('setSetupPath sets existing and new data paths', () => {
  const a = setSetupPath(DOC, 'classifier', 'm/c.onnx');
  assert.equal((JSON.parse(a) as { models: { classifier: { path: string } } }).models.classifier.path, 'm/c.onnx');
  const b = setSetupPath(DOC, 'val', 'data/val.csv');
  assert.deepEqual((JSON.parse(b) as { data: unknown }).data, { train: { manifest: 'data/train.csv' }, val: { manifest: 'data/val.csv' } });
  assert.equal(JSON.parse(b).settings.seed, 7);
});

test('relativeForExperiment writes forward-slash relative paths', () => {
  assert.equal(relativeForExperiment('/w/exp/a.tldr.json', '/w/exp/models/c.onnx'), 'models/c.onnx');
  assert.equal(relativeForExperiment('/w/exp/a.tldr.json', '/w/other/x.csv'), '../other/x.csv');
});

test('newExperimentText builds a parseable experiment with a list per class and value', () => {
  const s = documentState(newExperimentText('cats', ['cat', 'dog'], 'background', ['indoor', 'outdoor']), 'cats.tldr.json');
  assert.equal(s.ok, true);
  if (s.ok) assert.deepEqual(Object.keys(s.words.spurious), ['indoor', 'outdoor']);
});

test('minimalReplace gives the smallest replacement', () => {
  assert.deepEqual(minimalReplace('abcdef', 'abXdef'), { start: 2, end: 3, text: 'X' });
  assert.equal(minimalReplace('same', 'same'), undefined);
  const r = minimalReplace('a\r\nb', 'a\r\nc')!;
  assert.equal('a\r\nb'.slice(0, r.start) + r.text + 'a\r\nb'.slice(r.end), 'a\r\nc');
});

test('scores match words by position, so a repeated word keeps its own verdict and an edited word is unscored', () => {
  const lookup = scoreIndex([
    { list: 'targets', group: 'landbird', index: 0, text: 'Sparrow', clipMargin: 0.3, logitMargin: 1, pass: true },
    {
      list: 'targets',
      group: 'landbird',
      index: 1,
      text: 'sparrow',
      clipMargin: 0.3,
      logitMargin: 1,
      pass: false,
      reason: 'duplicate of "Sparrow" in this list',
    },
  ]);
  assert.equal(lookup('targets', 'landbird', 0, 'Sparrow')?.pass, true);
  assert.equal(lookup('targets', 'landbird', 1, 'sparrow')?.pass, false);
  assert.equal(lookup('targets', 'landbird', 1, 'robin'), undefined, 'the word at that position changed since scoring');
  assert.equal(lookup('spurious', 'landbird', 0, 'Sparrow'), undefined);
});
