// The Discover tab's data: messages both ways validate, the view carries the top keywords and
// their thumbnails, and the one extra resource root is the folder holding the val images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseHostMessage, parseWebviewMessage } from '../../../src/protocol/webview';
import { discoveryView, imagesRoot, isInside } from '../../../src/extension/editor/discoveryView';
import type { Discovery } from '../../../src/protocol/discover';

const root = path.resolve('/data/world');
const discovery: Discovery = {
  version: 1,
  id: 'x',
  experiment: '/data/demo.tldr.json',
  createdAt: '2026-12-02T21:00:00.000Z',
  seed: 0,
  bootstrap: { resamples: 1000, level: 0.95 },
  templates: 80,
  images: [
    { path: path.join(root, 'val', 'a.png'), label: 0, predicted: 1 },
    { path: path.join(root, 'val', 'b.png'), label: 0, predicted: 0 },
    { path: path.join(root, 'val2', '<img src=x onerror=alert(1)>.png'), label: 1, predicted: 0 },
  ],
  classes: [
    {
      class: 'landbird',
      index: 0,
      correct: 1,
      misclassified: 1,
      keywords: [
        {
          keyword: 'water',
          sources: ['builtin'],
          score: 0.3,
          ci: [0.2, 0.4],
          meanMisclassified: 0.5,
          meanCorrect: 0.2,
          topMisclassified: [0],
          topCorrect: [1],
        },
        {
          keyword: 'sky',
          sources: ['user', 'builtin'],
          score: 0.1,
          ci: [-0.1, 0.2],
          meanMisclassified: 0.3,
          meanCorrect: 0.2,
          topMisclassified: [0],
          topCorrect: [1],
        },
      ],
    },
    { class: 'waterbird', index: 1, correct: 0, misclassified: 1, note: 'nothing to contrast with', keywords: [] },
  ],
  skipped: [{ keyword: 'zzz', reason: 'unknown' }],
  sources: { user: 1, llm: 0, builtin: 335 },
  warnings: [],
  seconds: 1.5,
};

test('the view: top keywords per class, thumbnails as URIs with the predicted class, notes kept', () => {
  const v = discoveryView(discovery, (f) => `https://webview/${path.basename(f)}`, 1);
  assert.equal(v.scored, 2);
  assert.equal(v.skipped, 1);
  assert.deepEqual(
    v.classes[0].keywords.map((k) => k.keyword),
    ['water'],
  );
  assert.deepEqual(v.classes[0].keywords[0].misclassifiedImages, [{ src: 'https://webview/a.png', name: 'a.png', predicted: 'waterbird' }]);
  assert.equal(v.classes[1].note, 'nothing to contrast with');
  const msg = parseHostMessage({ type: 'discovery', discovery: v });
  assert.equal(msg.ok, true);
  assert.equal(parseHostMessage({ type: 'discovery', discovery: null }).ok, true);
});

test('the resource root is the deepest folder holding every val image', () => {
  assert.equal(imagesRoot(discovery), root);
  assert.equal(imagesRoot({ ...discovery, images: discovery.images.slice(0, 2) }), path.join(root, 'val'));
  assert.equal(imagesRoot({ ...discovery, images: [] }), undefined);
  assert.ok(isInside(path.join(root, 'val', 'a.png'), root));
  assert.ok(!isInside(path.resolve('/data/other/a.png'), root));
  assert.ok(!isInside(root, root));
});

test('discover and grouping messages from the webview validate', () => {
  assert.equal(parseWebviewMessage({ type: 'discover', words: [' ocean ', 'sky'] }).ok, true);
  const g = {
    name: 'background',
    values: [
      { name: 'land', words: ['forest'] },
      { name: 'water', words: ['ocean'] },
    ],
  };
  assert.equal(parseWebviewMessage({ type: 'applyGrouping', grouping: g }).ok, true);
  for (const bad of [
    { type: 'discover', words: ['two\nlines'] },
    { type: 'discover' },
    { type: 'applyGrouping', grouping: { ...g, extra: 1 } },
    { type: 'applyGrouping', grouping: { name: 'x', values: [{ name: 'a', words: ['   '] }] } },
  ])
    assert.equal(parseWebviewMessage(bad).ok, false, JSON.stringify(bad));
});
