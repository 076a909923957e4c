import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCelebA } from '../../../src/engine/data/celeba';
import { experimentSchema } from '../../../src/experiment';
import { sampleExperiment } from '../../helpers/experiment';
import { tempDir } from '../../helpers/paths';

const ATTRIBUTES =
  '5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young'.split(
    ' ',
  );
const BLOND = ATTRIBUTES.indexOf('Blond_Hair');
const MALE = ATTRIBUTES.indexOf('Male');
const base = experimentSchema.parse(sampleExperiment()).task;
const task = { ...base, classes: ['not blond', 'blond'], spurious: { name: 'gender', values: ['female', 'male'] } };

// image i: blond when i % 3 == 0, male when i % 2 == 0; partition train for 1-4, val 5-6, test 7-8
const people = Array.from({ length: 8 }, (_, k) => {
  const i = k + 1;
  const values = ATTRIBUTES.map((_, a) =>
    a === BLOND ? (i % 3 === 0 ? 1 : -1) : a === MALE ? (i % 2 === 0 ? 1 : -1) : (i + a) % 2 ? 1 : -1,
  );
  return { file: `${String(i).padStart(6, '0')}.jpg`, values, split: i <= 4 ? 0 : i <= 6 ? 1 : 2 };
});

/** CelebA as released: padded columns, a trailing space after the names, CRLF-free text. */
function celeba(opts: { kaggle?: boolean; count?: number; skipImages?: string[]; noPartition?: boolean } = {}): string {
  const dir = tempDir();
  const images = opts.kaggle ? path.join(dir, 'img_align_celeba', 'img_align_celeba') : path.join(dir, 'img_align_celeba');
  fs.mkdirSync(images, { recursive: true });
  for (const p of people) if (!opts.skipImages?.includes(p.file)) fs.writeFileSync(path.join(images, p.file), 'x');
  if (opts.kaggle) {
    fs.writeFileSync(
      path.join(dir, 'list_attr_celeba.csv'),
      [`image_id,${ATTRIBUTES.join(',')}`, ...people.map((p) => `${p.file},${p.values.join(',')}`)].join('\n') + '\n',
    );
    fs.writeFileSync(
      path.join(dir, 'list_eval_partition.csv'),
      ['image_id,partition', ...people.map((p) => `${p.file},${p.split}`)].join('\n'),
    );
  } else {
    const rows = people.map((p) => p.file + p.values.map((v) => (v === 1 ? '  1' : ' -1')).join(''));
    fs.writeFileSync(
      path.join(dir, 'list_attr_celeba.txt'),
      [String(opts.count ?? people.length), ATTRIBUTES.join(' ') + ' ', ...rows].join('\n') + '\n',
    );
    if (!opts.noPartition)
      fs.writeFileSync(path.join(dir, 'list_eval_partition.txt'), people.map((p) => `${p.file} ${p.split}`).join('\n') + '\n');
  }
  return dir;
}

const summary = (dir: string, rows: { path: string; label: number | null; spurious: number | null }[]) =>
  rows.map((r) => [path.relative(dir, r.path), r.label, r.spurious]);

test('list_attr_celeba.txt + list_eval_partition.txt: target and spurious by name, -1 -> 0 and 1 -> 1, the split kept', () => {
  const dir = celeba();
  assert.deepEqual(summary(dir, readCelebA(dir, task, { target: 'Blond_Hair', spurious: 'Male', split: 'train' })), [
    ['img_align_celeba/000001.jpg', 0, 0],
    ['img_align_celeba/000002.jpg', 0, 1],
    ['img_align_celeba/000003.jpg', 1, 0],
    ['img_align_celeba/000004.jpg', 0, 1],
  ]);
  assert.deepEqual(summary(dir, readCelebA(dir, task, { target: 'blond_hair', split: 'test' })), [
    ['img_align_celeba/000007.jpg', 0, null],
    ['img_align_celeba/000008.jpg', 0, null],
  ]);
  assert.equal(readCelebA(dir, task, { target: 'Blond_Hair', split: '1' }).length, 2);
  assert.equal(readCelebA(dir, task, { target: 'Blond_Hair' }).length, 8);
});

test('the Kaggle copy: CSV files and the nested image folder', () => {
  const dir = celeba({ kaggle: true });
  assert.deepEqual(summary(dir, readCelebA(dir, task, { target: 'Blond_Hair', spurious: 'Male', split: 'val' })), [
    ['img_align_celeba/img_align_celeba/000005.jpg', 0, 0],
    ['img_align_celeba/img_align_celeba/000006.jpg', 1, 1],
  ]);
});

test('an unknown attribute is named with the 40 there are', () => {
  const dir = celeba();
  assert.throws(
    () => readCelebA(dir, task, { target: 'Blonde', spurious: 'Male' }),
    (err: Error) => {
      assert.equal(
        err.message,
        `${path.join(dir, 'list_attr_celeba.txt')}: no attribute "Blonde" (the target). Its 40 attributes are ${ATTRIBUTES.join(', ')}.`,
      );
      return true;
    },
  );
  assert.throws(
    () => readCelebA(dir, task, { target: 'Blond_Hair', spurious: 'Gender' }),
    /no attribute "Gender" \(the spurious attribute\)/,
  );
});

test('task.classes and task.spurious.values need two names for a CelebA attribute', () => {
  const dir = celeba();
  assert.throws(
    () => readCelebA(dir, { ...task, classes: ['dark', 'blond', 'red'] }, { target: 'Blond_Hair' }),
    /CelebA's "Blond_Hair" has two values, -1 \(not Blond_Hair\) and 1 \(Blond_Hair\), so task\.classes needs two names in that order; it has 3\./,
  );
});

test('a cut-short attribute file, missing images, a missing partition file and an unknown split are errors', () => {
  assert.throws(
    () => readCelebA(celeba({ count: 202599 }), task, { target: 'Blond_Hair' }),
    /the first line says 202599 rows but the file has 8\. The file looks cut short/,
  );
  const gone = celeba({ skipImages: ['000002.jpg', '000004.jpg'] });
  assert.throws(
    () => readCelebA(gone, task, { target: 'Blond_Hair', split: 'train' }),
    (err: Error) => {
      assert.match(err.message, /img_align_celeba: 2 CelebA images are missing:\n/);
      assert.ok(err.message.includes(path.join(gone, 'img_align_celeba', '000002.jpg')));
      assert.ok(err.message.includes(path.join(gone, 'img_align_celeba', '000004.jpg')));
      return true;
    },
  );
  assert.throws(
    () => readCelebA(celeba({ noPartition: true }), task, { target: 'Blond_Hair', split: 'val' }),
    /no list_eval_partition\.txt, so there is no "val" split/,
  );
  assert.throws(
    () => readCelebA(celeba(), task, { target: 'Blond_Hair', split: 'holdout' }),
    /CelebA split "holdout" is not one of train, val, test/,
  );
  assert.throws(
    () => readCelebA(tempDir(), task, { target: 'Blond_Hair' }),
    /no list_attr_celeba\.txt \(or the Kaggle list_attr_celeba\.csv\)/,
  );
});
