// `tldr-debias init` in process on the shared CliIo: it writes a valid experiment, prints what was
// found and what is left, never replaces a file, and says what is wrong with a bad command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import type { CliIo } from '../../../src/cli/io';
import { createExperimentFile, loadExperiment } from '../../../src/experiment';
import { repoRoot, tempDir } from '../../helpers/paths';

const CLIP = path.join(repoRoot, 'test', 'fixtures', 'clip', 'split');
const CLASSIFIER = path.join(repoRoot, 'media', 'demo', 'birds', 'classifier.onnx');

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: {} };
  return { cli, out: () => out.join(''), err: () => err.join('') };
}

function birds(): string {
  const dir = tempDir('tldr-init-');
  for (const [split, cls] of [
    ['train', 'landbird'],
    ['train', 'waterbird'],
    ['val', 'landbird'],
    ['val', 'waterbird'],
  ]) {
    fs.mkdirSync(path.join(dir, 'birds', split, cls), { recursive: true });
    fs.writeFileSync(path.join(dir, 'birds', split, cls, '1.jpg'), 'x');
  }
  return dir;
}

test('init writes a valid experiment, prints found and notes; a second init refuses and leaves the file as it was', async () => {
  const dir = birds();
  const out = path.join(dir, 'birds.tldr.json');
  const args = ['init', '--clip', CLIP, '--classifier', CLASSIFIER, '--data', path.join(dir, 'birds'), '--out', out];
  const a = io();
  assert.equal(await main([...args, '--spurious', 'background', '--spurious-values', 'land,water'], a.cli), 0, a.err());
  assert.match(a.out(), /^Wrote /);
  assert.match(a.out(), /Classifier: 2 classes/);
  assert.match(a.out(), /To check or fill in:\n {2}- /);
  assert.match(a.out(), /Words: every list is empty/);
  const l = loadExperiment(out);
  assert.deepEqual(l.experiment.task.classes, ['landbird', 'waterbird']);
  assert.deepEqual(l.experiment.task.spurious, { name: 'background', values: ['land', 'water'] });
  assert.equal(l.experiment.name, 'birds');
  const before = fs.readFileSync(out, 'utf8');

  const b = io();
  assert.equal(await main(args, b.cli), 2);
  assert.match(b.err(), /already exists; init never replaces an experiment\. Choose another file with --out\./);
  assert.equal(fs.readFileSync(out, 'utf8'), before, 'the file is untouched');
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file left behind',
  );
});

test('init --json: the file, what was found, the notes and the experiment', async () => {
  const dir = birds();
  const out = path.join(dir, 'j.tldr.json');
  const a = io();
  const code = await main(
    [
      'init',
      '--clip',
      CLIP,
      '--classifier',
      CLASSIFIER,
      '--data',
      path.join(dir, 'birds'),
      '--out',
      out,
      '--json',
      '--classes',
      'land bird,water bird',
    ],
    a.cli,
  );
  assert.equal(code, 0, a.err());
  const r = JSON.parse(a.out());
  assert.equal(r.file, out);
  assert.deepEqual(r.experiment.task.classes, ['land bird', 'water bird']);
  assert.ok(r.notes.some((n: string) => /no spurious attribute/.test(n)));
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), r.experiment);
});

test('init: missing options, a missing path and a stray argument are usage errors (exit 2), nothing written', async () => {
  const dir = birds();
  const out = path.join(dir, 'x.tldr.json');
  const a = io();
  assert.equal(await main(['init', '--clip', CLIP, '--out', out], a.cli), 2);
  assert.match(a.err(), /--classifier, --data required/);
  const b = io();
  assert.equal(await main(['init', '--clip', CLIP, '--classifier', path.join(dir, 'nope.onnx'), '--data', dir, '--out', out], b.cli), 2);
  assert.match(b.err(), /nope\.onnx does not exist \(--classifier\)/);
  const c = io();
  assert.equal(await main(['init', 'stray', '--clip', CLIP], c.cli), 2);
  assert.match(c.err(), /unexpected argument "stray"/);
  assert.ok(!fs.existsSync(out));
  const h = io();
  assert.equal(await main(['init', '--help'], h.cli), 0);
  assert.match(h.out(), /Usage: tldr-debias init --clip DIR --classifier FILE --data PATH/);
});

test('createExperimentFile: atomic and never over an existing file, also when two race for one name', async () => {
  const dir = tempDir('tldr-create-');
  const file = path.join(dir, 'sub', 'a.tldr.json');
  const results = await Promise.all(['{"n":1}\n', '{"n":2}\n', '{"n":3}\n'].map((t) => createExperimentFile(file, t)));
  assert.equal(results.filter(Boolean).length, 1, 'exactly one writer wins');
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^\{"n":[123]\}\n$/, 'a whole text, never a mix');
  assert.equal(await createExperimentFile(file, 'other'), false);
  assert.equal(fs.readFileSync(file, 'utf8'), text);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['a.tldr.json'], 'no temp files left');
});
