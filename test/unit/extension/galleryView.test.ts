// The Results tab's gallery on the host: run.json's image paths become webview URIs, and the
// folders holding them become the webview's resource roots (only those not already covered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { galleryRoots, galleryView, missingRoots } from '../../../src/extension/editor/galleryView';
import { parseHostMessage } from '../../../src/protocol/webview';
import type { RunGallery } from '../../../src/protocol/runRecord';

const im = (p: string, erm = 'a', tldr = 'a') => ({ path: p, label: 'a', erm, tldr });
const gallery = (paths: string[][]): RunGallery => ({
  split: 'test',
  perGroup: 6,
  groups: paths.map((ps, i) => ({
    label: 'a',
    spurious: `s${i}`,
    n: 10,
    changed: 1,
    images: ps.map((p, k) => im(p, k === 0 ? 'b' : 'a')),
  })),
});

test('the view: every image as a URI with its file name and both predictions, groups in order; it passes the webview schema', () => {
  const g = gallery([['/w/data/test/a/1.png', '/w/data/test/a/2.png'], ['/w/data/test/b/3.png']]);
  const v = galleryView(g, (f) => `https://file+.vscode-resource.vscode-cdn.net${f}`);
  assert.equal(v.split, 'test');
  assert.deepEqual(
    v.groups.map((x) => [x.spurious, x.n, x.changed, x.images.map((i) => i.src)]),
    [
      [
        's0',
        10,
        1,
        [
          'https://file+.vscode-resource.vscode-cdn.net/w/data/test/a/1.png',
          'https://file+.vscode-resource.vscode-cdn.net/w/data/test/a/2.png',
        ],
      ],
      ['s1', 10, 1, ['https://file+.vscode-resource.vscode-cdn.net/w/data/test/b/3.png']],
    ],
  );
  assert.deepEqual(v.groups[0].images[0], {
    src: 'https://file+.vscode-resource.vscode-cdn.net/w/data/test/a/1.png',
    name: '1.png',
    label: 'a',
    erm: 'b',
    tldr: 'a',
  });
  const msg = parseHostMessage({
    type: 'results',
    result: { runId: 'r', status: 'succeeded', split: 'test', metrics: null, hasReport: true, hasModel: true, gallery: v },
  });
  assert.ok(msg.ok);
  assert.ok(msg.ok && msg.message.type === 'results' && msg.message.result?.gallery?.groups.length === 2);
});

test('roots: the deepest folder holding every image; one root for one folder; none for no images', () => {
  assert.deepEqual(galleryRoots(gallery([['/w/data/test/a/1.png'], ['/w/data/test/b/3.png']])), [path.normalize('/w/data/test')]);
  assert.deepEqual(galleryRoots(gallery([['/w/data/test/a/1.png', '/w/data/test/a/2.png']])), ['/w/data/test/a']);
  assert.deepEqual(galleryRoots(gallery([['/w/data/test/a/1.png'], ['/w/data/test/a/b/3.png']])), ['/w/data/test/a']);
  assert.deepEqual(galleryRoots(gallery([[], []])), []);
});

test('roots: images with only the filesystem root in common give their own folders, never the whole disk', () => {
  const roots = galleryRoots(gallery([['/data/x/1.png', '/data/x/y/2.png'], ['/home/u/3.png']]));
  assert.deepEqual(roots, ['/data/x', '/home/u']);
});

test('missing roots: folders inside a root the webview has are not added again', () => {
  assert.deepEqual(missingRoots(['/ext/media', '/w/data'], ['/w/data/test', '/w/data', '/w/other']), ['/w/other']);
  assert.deepEqual(missingRoots(['/ext/media'], []), []);
});
