// The data-source forms of the experiment file: each parses with its defaults, and a bad one
// names the form its key chooses and that form's problem (a zod union alone says "Invalid input").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExperimentText } from '../../../src/experiment';
import { sampleExperiment } from '../../helpers/experiment';

function withData(data: Record<string, unknown>, settings?: Record<string, unknown>) {
  const e = sampleExperiment() as unknown as Record<string, unknown>;
  e.data = data;
  if (settings) e.settings = settings;
  return JSON.stringify(e);
}

const problem = (data: Record<string, unknown>) => {
  try {
    parseExperimentText('e.tldr.json', withData(data));
  } catch (err) {
    return (err as Error).message.split('\n')[1];
  }
  assert.fail('expected an invalid experiment');
};

test('image folder, CelebA and COCO forms parse; skipUnreadable and exifOrientation default off', () => {
  const exp = parseExperimentText(
    'e.tldr.json',
    withData({
      train: { imageFolder: 'data/birds', split: 'train' },
      val: { celeba: 'data/celeba', target: 'Blond_Hair', spurious: 'Male', split: 'val' },
      test: { celeba: 'data/celeba', target: 'Blond_Hair' },
      captions: { path: 'coco/annotations/captions_val2014.json', limit: 500 },
    }),
  );
  assert.deepEqual(exp.data.train, { imageFolder: 'data/birds', split: 'train' });
  assert.deepEqual(exp.data.val, { celeba: 'data/celeba', target: 'Blond_Hair', spurious: 'Male', split: 'val' });
  assert.deepEqual(exp.data.captions, { path: 'coco/annotations/captions_val2014.json', format: 'auto', limit: 500 });
  assert.equal(exp.settings.skipUnreadable, false);
  assert.equal(exp.settings.exifOrientation, 'ignore');
});

test('a bad data source names its form and the field', () => {
  assert.equal(
    problem({ train: { imageFolder: 'x', split: 3 } }),
    '  $.data.train: the "imageFolder" form: split: Invalid input: expected string, received number',
  );
  assert.equal(problem({ train: { celeba: 'x' } }), '  $.data.train: the "celeba" form: target: required');
  assert.equal(
    problem({ train: { celeba: 'x', target: 'Blond_Hair', split: 'training' } }),
    '  $.data.train: the "celeba" form: split: Invalid option: expected one of "train"|"val"|"test"',
  );
  assert.equal(
    problem({ train: { path: 'a.csv' } }),
    '  $.data.train: a data source needs exactly one of "manifest", "imageFolder", "celeba", "embeddings"',
  );
  assert.equal(
    problem({ train: { manifest: 'a.csv', imageFolder: 'b' } }),
    '  $.data.train: a data source needs exactly one of "manifest", "imageFolder", "celeba", "embeddings"; this one has manifest and imageFolder',
  );
});
