// readSource: every data-source form of the experiment file reaches its reader, with paths
// resolved against the experiment's folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseExperimentText } from '../../../src/experiment';
import { readCaptions, readImageSource } from '../../../src/engine/data/readSource';
import { sampleExperiment } from '../../helpers/experiment';
import { tempDir } from '../../helpers/paths';

function put(dir: string, file: string, text = 'x'): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
}

test('each data-source form is read by its reader; captions are the seeded sample', () => {
  const dir = tempDir();
  put(dir, 'birds/val/landbird/a.jpg');
  put(dir, 'birds/val/waterbird/b.jpg');
  put(dir, 'faces/list_attr_celeba.txt', '2\nBlond_Hair Male \n000001.jpg  1 -1\n000002.jpg -1  1\n');
  put(dir, 'faces/list_eval_partition.txt', '000001.jpg 0\n000002.jpg 2\n');
  put(dir, 'pixels/000001.jpg');
  put(dir, 'pixels/000002.jpg');
  put(dir, 'list.csv', 'path,label\nbirds/val/landbird/a.jpg,0\n');
  const captions = Array.from({ length: 12 }, (_, i) => `c${i}.png,caption ${i}`);
  for (let i = 0; i < 12; i++) put(dir, `c${i}.png`);
  put(dir, 'captions.csv', ['image,caption', ...captions].join('\n'));
  const e = sampleExperiment() as unknown as { data: Record<string, unknown>; settings: Record<string, unknown> };
  e.data = {
    train: { celeba: 'faces', target: 'Blond_Hair', spurious: 'Male', split: 'train', root: 'pixels' },
    val: { imageFolder: 'birds', split: 'val' },
    test: { manifest: 'list.csv' },
    captions: { path: 'captions.csv', limit: 5 },
  };
  e.settings = { seed: 3 };
  const exp = parseExperimentText(path.join(dir, 'e.tldr.json'), JSON.stringify(e));
  const resolve = (p: string) => path.resolve(dir, p);
  const rows = (source: Parameters<typeof readImageSource>[0]) =>
    readImageSource(source, exp.task, resolve)!.map((r) => [path.relative(dir, r.path), r.label, r.spurious]);
  assert.deepEqual(rows(exp.data.train), [['pixels/000001.jpg', 1, 0]]);
  assert.deepEqual(rows(exp.data.val!), [
    ['birds/val/landbird/a.jpg', 0, null],
    ['birds/val/waterbird/b.jpg', 1, null],
  ]);
  assert.deepEqual(rows(exp.data.test!), [['birds/val/landbird/a.jpg', 0, null]]);
  assert.equal(readImageSource({ embeddings: 'x.safetensors' }, exp.task, resolve), undefined);
  const pairs = readCaptions(exp.data.captions!, resolve, exp.settings.seed);
  assert.equal(pairs.length, 5);
  assert.deepEqual(readCaptions(exp.data.captions!, resolve, exp.settings.seed), pairs);
  assert.notDeepEqual(
    pairs.map((p) => p.caption),
    ['caption 0', 'caption 1', 'caption 2', 'caption 3', 'caption 4'],
  );
});
