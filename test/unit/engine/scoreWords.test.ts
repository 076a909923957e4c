import { test } from 'node:test';
import assert from 'node:assert/strict';
import { margin, scoreWordItems, acceptedWords, collectWords, type WordItem } from '../../../src/engine/text/scoreWords';
import { experimentSchema } from '../../../src/experiment/schema';
import { sampleExperiment } from '../../helpers/experiment';

test('margin is own minus the best other; ties count against the word', () => {
  assert.equal(margin([0.9, 0.2, 0.5], 0), 0.9 - 0.5);
  assert.equal(margin([0.1, 0.3], 0), 0.1 - 0.3);
  assert.equal(margin([0.3, 0.3], 1), 0);
});

test('words pass only with both margins > 0; duplicates and unknown words fail with reasons', () => {
  const items: WordItem[] = [
    { list: 'targets', group: 'landbird', groupIndex: 0, index: 0, text: 'Sparrow', word: 'sparrow' },
    { list: 'targets', group: 'landbird', groupIndex: 0, index: 1, text: 'sparrow ', word: 'sparrow' },
    { list: 'targets', group: 'landbird', groupIndex: 0, index: 2, text: 'duck', word: 'duck' },
    { list: 'targets', group: 'waterbird', groupIndex: 1, index: 0, text: 'gull', word: 'gull' },
    { list: 'spurious', group: 'land', groupIndex: 0, index: 0, text: 'zzzq', word: 'zzzq' },
  ];
  const d = 2;
  // anchors: class 0 along x, class 1 along y; spurious likewise
  const anchors = Float32Array.from([1, 0, 0, 1]);
  const E = Float32Array.from([1, 0.1, 1, 0.1, 0.1, 1, 0.2, 1, 1, 0]);
  const logits = Float64Array.from([2, 1, 2, 1, 0, 1, -1, 3, 0, 0]);
  const s = scoreWordItems({
    items,
    embeddings: E,
    d,
    targetAnchors: anchors,
    spuriousAnchors: anchors,
    logits,
    classes: 2,
    tokenizer: { hasUnknown: (w) => w === 'zzzq' },
  });
  assert.deepEqual(
    s.map((x) => x.pass),
    [true, false, false, true, false],
  );
  assert.deepEqual(
    s.map((x) => x.index),
    [0, 1, 2, 0, 0],
    'each score carries its position in the list',
  );
  assert.match(s[1].reason!, /duplicate of "Sparrow"/);
  assert.match(s[2].reason!, /closer to another class's anchor/);
  assert.match(s[2].reason!, /classifier reads its projection as another class/);
  assert.match(s[4].reason!, /does not know/);
  assert.equal(s[4].logitMargin, undefined, 'spurious words get no logit margin');
  assert.ok(s[0].clipMargin > 0 && s[0].logitMargin === 1);
});

test('accepted words are unique per group and in file order', () => {
  const exp = experimentSchema.parse(sampleExperiment());
  exp.words.targets.landbird.push({ text: 'ROBIN', source: 'llm' });
  const items = collectWords(exp);
  assert.deepEqual(
    items.map((i) => i.word),
    ['sparrow', 'robin', 'duck', 'forest', 'ocean'],
  );
  const scores = items.map((i) => ({ list: i.list, group: i.group, index: i.index, text: i.text, clipMargin: 1, pass: i.word !== 'duck' }));
  assert.deepEqual(acceptedWords(items, scores, exp), { targets: [['sparrow', 'robin'], []], spurious: [['forest'], ['ocean']] });
});
