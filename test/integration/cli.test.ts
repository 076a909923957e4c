// The CLI end to end on the committed tiny models and a small generated world: a real run,
// the cache on a second run, word scores, and bad input, each with the message checked.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { makeSmallDemo } from '../helpers/smallDemo';
import { repoRoot, tempDir } from '../helpers/paths';
import { writeVisionModel } from '../helpers/onnxBuild';
import { readSafetensors } from '../../src/engine/io/safetensors';
import { prepareClassifier } from '../../src/engine/onnx';
import type { EngineEvent } from '../../src/protocol/events';
import type { RunGallery } from '../../src/protocol/runRecord';
import { lastScores, listRuns, runDetails } from '../../src/engine/api';

const cli = path.join(repoRoot, 'dist', 'cli.js');
let dir: string;
let exp: string;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, OPENAI_API_KEY: '' } });
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    events: r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as EngineEvent),
  };
}

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** a copy of the small demo's experiment with `edit` applied, written beside it */
function variant(name: string, edit: (e: any) => void): string {
  const e = JSON.parse(fs.readFileSync(exp, 'utf8'));
  edit(e);
  const file = path.join(dir, `${name}.tldr.json`);
  fs.writeFileSync(file, JSON.stringify(e));
  return file;
}

before(async () => {
  dir = tempDir('tldr-cli-');
  exp = await makeSmallDemo(dir);
});

test('run: the whole pipeline, run folder contract, drop-in debiased model; a second run encodes nothing', () => {
  const modelHash = sha(path.join(dir, 'models', 'classifier.onnx'));
  const first = run(['run', exp, '--json']);
  assert.equal(first.code, 0, first.stderr);
  const result = first.events.at(-1)!;
  assert.equal(result.type, 'result');
  if (result.type !== 'result') return;
  const runDir = result.summary.runDir;
  for (const f of [
    'run.json',
    'projector.safetensors',
    'train-embeddings.safetensors',
    'head.safetensors',
    'scores.json',
    'model.debiased.onnx',
    'report.md',
  ]) {
    assert.ok(fs.existsSync(path.join(runDir, f)), `${f} in the run folder`);
  }
  const steps = first.events.filter((e) => e.type === 'step-end').map((e) => (e as { step: string }).step);
  assert.deepEqual(steps, ['encode-images', 'gap', 'projector', 'score-words', 'text-set', 'retrain', 'evaluate', 'export']);
  const runJson = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(runJson.status, 'succeeded');
  assert.match(runJson.configHash, /^[0-9a-f]{64}$/);
  assert.equal(runJson.seed, 0);
  assert.ok(runJson.versions['onnxruntime-node']);
  assert.ok(runJson.counts.encoded > 0);
  assert.deepEqual(runJson.threads, {
    intraOpThreads: os.availableParallelism(),
    source: 'cores',
    cores: os.availableParallelism(),
    models: 'side-by-side',
    imageDecoding: 1,
  });
  const test_ = result.summary.metrics.test!;
  assert.equal(test_.tldr.groups.length, 4);
  assert.ok(test_.dfr, 'val has groups, so the DFR reference is there');
  // the Results tab's per-group examples: the test split's groups, a few of each group's own images
  const gallery = runJson.gallery as RunGallery;
  assert.equal(gallery.split, 'test');
  assert.deepEqual(
    gallery.groups.map((g) => `${g.label}/${g.spurious}/${g.n}`),
    test_.tldr.groups.map((g) => `${g.label}/${g.spurious}/${g.n}`),
  );
  const classes: string[] = JSON.parse(fs.readFileSync(exp, 'utf8')).task.classes;
  for (const g of gallery.groups) {
    assert.equal(g.images.length, Math.min(g.n, gallery.perGroup), `${g.label}/${g.spurious}`);
    assert.ok(g.changed <= g.n);
    assert.equal(
      g.images.slice(0, g.changed).filter((im) => im.erm !== im.tldr).length,
      Math.min(g.changed, g.images.length),
      'changed predictions first',
    );
    for (const im of g.images) {
      assert.ok(path.isAbsolute(im.path) && fs.existsSync(im.path), im.path);
      assert.equal(im.label, g.label);
      assert.ok(classes.includes(im.erm) && classes.includes(im.tldr));
    }
  }
  assert.deepEqual(runDetails(runDir).summary?.gallery, gallery, 'the run store reads it back');
  assert.deepEqual(result.summary.gallery, gallery, "the run's answer carries it");

  // the exported model carries exactly the new head; the user's file is untouched
  return (async () => {
    const head = (await readSafetensors(path.join(runDir, 'head.safetensors'))).tensors;
    const exported = await prepareClassifier(path.join(runDir, 'model.debiased.onnx'));
    const w = head.weight.data as Float32Array;
    exported.weight.forEach((v, i) => assert.ok(Math.abs(v - w[i]) < 1e-6));
    const proj = (await readSafetensors(path.join(runDir, 'projector.safetensors'))).tensors;
    assert.equal(proj.W.shape[1], exported.featureDim);
    assert.deepEqual(proj.G.shape, [1, proj.W.shape[0]]);
    assert.equal(sha(path.join(dir, 'models', 'classifier.onnx')), modelHash);

    const second = run(['run', exp, '--json', '--threads', '1']);
    assert.equal(second.code, 0, second.stderr);
    const r2 = second.events.at(-1) as Extract<EngineEvent, { type: 'result' }>;
    const run2 = JSON.parse(fs.readFileSync(path.join(r2.summary.runDir, 'run.json'), 'utf8'));
    assert.equal(run2.counts.encoded, 0, 'every image comes from the cache');
    assert.equal(run2.threads.intraOpThreads, 1, '--threads 1');
    assert.equal(run2.threads.source, 'cli');
    assert.equal(run2.counts.cached, runJson.counts.images);
    assert.equal(run2.counts.promptsEncoded, 0, 'every prompt comes from the cache');
    assert.deepEqual(r2.summary.metrics, result.summary.metrics, 'same seed, same result');
    assert.deepEqual(run2.gallery, runJson.gallery, 'same seed, same gallery');
  })();
});

test('score: the known-bad demo words fail, good ones pass', async () => {
  const r = run(['score', exp, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { scores, lambda } = r.events.find((e) => e.type === 'scores') as Extract<EngineEvent, { type: 'scores' }>;
  const find = (group: string, text: string) => scores.find((s) => s.group === group && s.text === text)!;
  assert.equal(find('landbird', 'Sparrow').pass, true);
  assert.equal(find('landbird', 'MALLARD').pass, false, 'a water bird listed as a land bird');
  assert.equal(find('waterbird', 'robin').pass, false, 'a land bird listed as a water bird');
  assert.match(find('landbird', 'sparrow').reason!, /duplicate/);
  assert.equal(find('water', 'desert').pass, false, 'a land scene listed as water');
  assert.ok(
    scores.some((s) => /does not know/.test(s.reason ?? '')),
    'some LLM words are outside the tiny vocabulary',
  );
  const human = run(['score', exp]);
  assert.match(human.stdout, /FAIL .*MALLARD/);
  assert.deepEqual(lastScores(exp), { lambda, scores }, 'the editor reloads the last scores (the run store keeps them)');
  const newest = (await listRuns(exp)).find((x) => x.status === 'succeeded')!;
  assert.equal(lambda, runDetails(newest.runDir).summary!.selection!.chosen.lambda, 'score uses the lambda the last run chose');
  // scoring reads and encodes train and the caption pairs only: val and test wait for a run
  const counts = JSON.parse(fs.readFileSync(path.join(newest.runDir, 'run.json'), 'utf8')).counts;
  assert.ok(counts.val > 0 && counts.test > 0);
  const encodeEnd = r.events.find((e) => e.type === 'step-end' && e.step === 'encode-images') as Extract<EngineEvent, { type: 'step-end' }>;
  assert.equal(
    encodeEnd.detail,
    `${counts.images - counts.val - counts.test} images: 0 encoded, ${counts.images - counts.val - counts.test} from cache`,
  );
});

test('demo --no-run writes the demo and runs nothing; run again, it keeps the experiment as edited', () => {
  const out = path.join(tempDir('tldr-demo-'), 'demo');
  const first = run(['demo', '--no-run', '--out', out]);
  assert.equal(first.code, 0, first.stderr);
  const file = path.join(out, 'demo.tldr.json');
  assert.ok(first.stdout.includes(`Run it with: tldr-debias run ${file}\n`), first.stdout);
  assert.ok(fs.existsSync(path.join(out, 'world', 'metadata.csv')) && fs.existsSync(path.join(out, 'models', 'classifier.onnx')));
  assert.equal(fs.existsSync(path.join(out, '.tldr')), false, 'no run, no scores, no cache');
  const edited = fs.readFileSync(file, 'utf8').replace('"Demo: birds on land and water"', '"my demo"');
  fs.writeFileSync(file, edited);
  const again = run(['demo', '--no-run', '--out', out, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.events.at(-1), { type: 'demo-written', experiment: file } as unknown);
  assert.equal(fs.readFileSync(file, 'utf8'), edited, 'an existing demo is kept as it is');
});

test('bad input: invalid experiment JSON names the JSON path; exit code 2', () => {
  const file = variant('bad-json', (e) => {
    e.task.classes = ['only'];
  });
  const r = run(['run', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /\$\.task\.classes: a task needs at least two classes/);
});

test('bad input: missing classifier model names the file and the setting', () => {
  const r = run([
    'run',
    variant('no-model', (e) => {
      e.models.classifier.path = 'models/nope.onnx';
    }),
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope\.onnx: the file does not exist.*models\.classifier/s);
});

test('bad input: a classifier with no final linear layer is refused', () => {
  const noLinear = path.join(repoRoot, 'test', 'fixtures', 'classifiers');
  const file = fs.readdirSync(noLinear).find((f) => /no[-_]?linear|conv[-_]?end/i.test(f) && f.endsWith('.onnx'));
  assert.ok(file, 'the fixture set has a model without a final linear layer');
  const r = run([
    'run',
    variant('no-linear', (e) => {
      e.models.classifier.path = path.join(noLinear, file!);
    }),
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /linear layer/i);
});

test('bad input: CLIP text and image embedding sizes that differ', () => {
  const clip2 = path.join(dir, 'clip-mismatch');
  fs.cpSync(path.join(dir, 'models', 'clip'), clip2, { recursive: true });
  writeVisionModel(path.join(clip2, 'onnx', 'vision_model.onnx'), 64, 7);
  const r = run([
    'run',
    variant('clip-mismatch', (e) => {
      e.models.clip.dir = 'clip-mismatch';
    }),
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /CLIP text embeddings have \d+ dimensions but image embeddings have 7/);
});

test('bad input: unknown labels and missing images are listed by row and path', () => {
  const csv = path.join(dir, 'bad.csv');
  fs.writeFileSync(csv, 'path,label\nworld/train/missing-1.png,0\nworld/train/missing-2.png,1\n');
  const missing = run([
    'run',
    variant('missing-images', (e) => {
      e.data.train = { manifest: 'bad.csv', root: '.' };
    }),
  ]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /2 image files are missing/);
  assert.ok(missing.stderr.includes(path.join(dir, 'world', 'train', 'missing-1.png')));
  fs.writeFileSync(csv, 'path,label\nx.png,seabird\n');
  const labels = run([
    'run',
    variant('bad-labels', (e) => {
      e.data.train = { manifest: 'bad.csv' };
    }),
  ]);
  assert.equal(labels.code, 2);
  assert.match(labels.stderr, /row 2: label "seabird" is not a class index or one of \["landbird","waterbird"\]/);
});

test('bad input: a corrupt image is named', () => {
  fs.mkdirSync(path.join(dir, 'corrupt'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'corrupt', 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really a png'));
  fs.writeFileSync(path.join(dir, 'corrupt.csv'), 'path,label\ncorrupt/broken.png,0\n');
  const r = run([
    'run',
    variant('corrupt', (e) => {
      e.data.train = { manifest: 'corrupt.csv' };
    }),
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /data\.train: none of the 1 images can be read:\n {2}\S*corrupt\/broken\.png: /);
});

test('an image folder with an unreadable file, and COCO captions: skipUnreadable leaves the file out, logs and counts it', () => {
  const world = path.join(dir, 'world');
  const folder = path.join(dir, 'folder', 'train');
  const train = fs
    .readFileSync(path.join(world, 'metadata.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .filter((r) => r[2] === '0');
  for (const [file, y] of train) {
    const cls = path.join(folder, y === '1' ? 'waterbird' : 'landbird');
    fs.mkdirSync(cls, { recursive: true });
    fs.copyFileSync(path.join(world, file), path.join(cls, path.basename(file)));
  }
  fs.writeFileSync(path.join(folder, 'waterbird', 'zz-broken.png'), 'not a png');
  const captions = fs
    .readFileSync(path.join(world, 'captions.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => [l.slice(0, l.indexOf(',')), l.slice(l.indexOf(',') + 1)]);
  fs.mkdirSync(path.join(dir, 'coco', 'annotations'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'coco', 'annotations', 'captions_val2014.json'),
    JSON.stringify({
      images: captions.map(([file], i) => ({ id: i + 1, file_name: file })),
      annotations: captions.map(([, caption], i) => ({ id: 100 + i, image_id: i + 1, caption })),
    }),
  );
  const limit = captions.length - 3;
  const edit =
    (skip: boolean): Parameters<typeof variant>[1] =>
    (e) => {
      e.data.train = { imageFolder: 'folder', split: 'train' };
      e.data.captions = { path: 'coco/annotations/captions_val2014.json', root: 'world', limit };
      e.settings.skipUnreadable = skip;
    };
  const strict = run(['run', variant('folder-strict', edit(false))]);
  assert.equal(strict.code, 2);
  assert.match(strict.stderr, /data\.train: 1 images cannot be read:\n {2}\S*zz-broken\.png: .*unsupported image format/);
  assert.match(strict.stderr, /set "skipUnreadable": true in the experiment's settings/);

  const r = run(['run', variant('folder-skip', edit(true)), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = r.events.at(-1) as Extract<EngineEvent, { type: 'result' }>;
  const runJson = JSON.parse(fs.readFileSync(path.join(result.summary.runDir, 'run.json'), 'utf8'));
  assert.equal(runJson.counts.unreadable, 1);
  assert.equal(runJson.counts.train, train.length);
  assert.equal(runJson.gap.pairs, limit);
  const warning = r.events.find((e) => e.type === 'log' && e.level === 'warn' && e.message.includes('zz-broken.png'));
  assert.ok(warning, 'the left-out file is logged');
  assert.match((warning as { message: string }).message, /^data\.train: left out 1 unreadable images \(skipUnreadable\):\n/);
});

test('bad input: an empty word list for a class', () => {
  const r = run([
    'run',
    variant('empty-words', (e) => {
      e.words.targets.waterbird = [];
    }),
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no target word of class "waterbird" passes validation/);
});

test('usage errors exit 2 with the usage text', () => {
  const badThreads = run(['run', exp, '--threads', '0']);
  assert.equal(badThreads.code, 2);
  assert.match(badThreads.stderr, /--threads must be a whole number >= 1, got "0"/);
  const r = run(['run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage: tldr-debias run EXP/);
  assert.equal(run(['frobnicate']).code, 2);
});

test('precomputed embeddings (safetensors) stand in for the training images', () => {
  const first = run(['run', exp, '--json']);
  const r = first.events.at(-1) as Extract<EngineEvent, { type: 'result' }>;
  const embeddings = path.join(r.summary.runDir, 'train-embeddings.safetensors');
  const second = run([
    'run',
    variant('from-embeddings', (e) => {
      e.data.train = { embeddings };
    }),
    '--json',
  ]);
  assert.equal(second.code, 0, second.stderr);
  const r2 = second.events.at(-1) as Extract<EngineEvent, { type: 'result' }>;
  const counts = JSON.parse(fs.readFileSync(path.join(r2.summary.runDir, 'run.json'), 'utf8')).counts;
  const firstCounts = JSON.parse(fs.readFileSync(path.join(r.summary.runDir, 'run.json'), 'utf8')).counts;
  assert.equal(counts.images, firstCounts.images - firstCounts.train, 'no training image is read');
  assert.equal(counts.train, firstCounts.train);
  assert.ok(r2.summary.metrics.test!.tldr.worstGroup > 0);
});
