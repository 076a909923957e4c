// discover on the demo world: the committed tiny CLIP and ERM classifier, the birds world's full
// val split (150 images per group; its spurious labels are never read by the step). The world's
// spurious feature is known (land and water scenes), so the top keywords of each class can be
// checked against it. Then the CLI: the ranked table, --json, --apply, and every bad input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { startFakeOpenAiServer, chatReply, userPrompt } from '../helpers/fakeOpenAiServer';
import { generateWorld } from '../../src/engine/demo/generator';
import { parseWorldSpec } from '../../src/engine/demo/spec';
import { demoExperiment, installDemoModels, DEMO_FILE } from '../../src/engine/demo/experiment';
import birdsSpec from '../../src/engine/demo/worlds/birds.json';
import { discoverBiases, lastDiscovery } from '../../src/engine/api';
import { candidateKey } from '../../src/engine/text/candidates';
import type { Discovery } from '../../src/protocol/discover';
import { repoRoot, tempDir } from '../helpers/paths';
import { makeWorldExperiment } from '../helpers/worlds';

const cli = path.join(repoRoot, 'dist', 'cli.js');
let dir: string;
let exp: string;
let discovery: Discovery;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, OPENAI_API_KEY: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function variant(name: string, edit: (e: any) => void): string {
  const e = JSON.parse(fs.readFileSync(exp, 'utf8'));
  edit(e);
  const file = path.join(dir, `${name}.tldr.json`);
  fs.writeFileSync(file, JSON.stringify(e, null, 2));
  return file;
}

const world = parseWorldSpec(birdsSpec);
/** scene names, their aliases and the value's own name, per spurious value */
const sceneWords = (value: string) =>
  new Set([value, ...world.scenes.filter((s) => s.value === value).flatMap((s) => [s.name, ...(s.aliases ?? [])])].map(candidateKey));

before(async () => {
  dir = tempDir('tldr-discover-');
  const spec = parseWorldSpec(birdsSpec);
  // the demo's own val split; a token train split (discover never reads it)
  spec.splits = spec.splits
    .filter((s) => s.name === 'train' || s.name === 'val')
    .map((s) =>
      s.name === 'train' && s.role === 'metadata'
        ? {
            ...s,
            groups: [
              [2, 1],
              [1, 2],
            ],
          }
        : s,
    );
  const pre = await installDemoModels(dir);
  await generateWorld(spec, path.join(dir, 'world'));
  const e = demoExperiment(pre);
  exp = path.join(dir, DEMO_FILE);
  fs.writeFileSync(exp, JSON.stringify({ ...e, data: { train: e.data.train, val: e.data.val } }, null, 2));
});

test('fruit-small world (held out): the scenes of one spurious value fill at least 4 of the top 5 keywords of each class', async () => {
  const fdir = tempDir('tldr-discover-fruit-');
  const fexp = await makeWorldExperiment(fdir, 'fruit-small');
  const fruit = parseWorldSpec(
    JSON.parse(fs.readFileSync(path.join(repoRoot, 'src', 'engine', 'demo', 'worlds', 'fruit-small.json'), 'utf8')),
  );
  const scenes = (value: string) =>
    new Set([value, ...fruit.scenes.filter((s) => s.value === value).flatMap((s) => [s.name, ...(s.aliases ?? [])])].map(candidateKey));
  const { discovery: d } = await discoverBiases(fexp, {});
  for (const c of d.classes) {
    const top5 = c.keywords.slice(0, 5);
    // which value a class's errors point at is the world's business; one of them must fill the top 5
    const best = Math.max(...fruit.task.spurious.values.map((v) => top5.filter((k) => scenes(v).has(candidateKey(k.keyword))).length));
    assert.ok(best >= 4, `${c.class}: top 5 ${top5.map((k) => k.keyword).join(', ')}`);
  }
});

test('birds world: the scenes of the other spurious value fill at least 4 of the top 5 keywords of each class', async () => {
  const r = await discoverBiases(exp, {});
  discovery = r.discovery;
  assert.ok(fs.existsSync(r.path) && r.path.includes(path.join('.tldr', 'discover')));
  assert.deepEqual(lastDiscovery(exp)?.discovery.id, discovery.id);
  const opposite: Record<string, string> = { landbird: 'water', waterbird: 'land' };
  for (const c of discovery.classes) {
    assert.ok(c.misclassified > 20 && c.correct > 100, `${c.class}: ${c.misclassified} wrong, ${c.correct} right`);
    const top5 = c.keywords.slice(0, 5);
    const hits = top5.filter((k) => sceneWords(opposite[c.class]).has(candidateKey(k.keyword)));
    assert.ok(hits.length >= 4, `${c.class}: top 5 ${top5.map((k) => k.keyword).join(', ')}`);
    // the scene words of the class's own value are no signal of its errors
    const own = c.keywords.filter((k) => sceneWords(opposite[c.class] === 'water' ? 'land' : 'water').has(candidateKey(k.keyword)));
    assert.ok(own.every((k) => k.score < top5[3].score));
    for (const k of top5) assert.ok(k.ci[0] > 0, `${k.keyword}: interval ${k.ci} excludes 0`);
    // gallery rows are images of this class, misclassified / correct as named, best match first
    const k = top5[0];
    assert.equal(k.topMisclassified.length, 8);
    for (const i of k.topMisclassified) assert.ok(discovery.images[i].label === c.index && discovery.images[i].predicted !== c.index);
    for (const i of k.topCorrect) assert.ok(discovery.images[i].label === c.index && discovery.images[i].predicted === c.index);
  }
  // the step never needed spurious labels: the same ranking without them
  const noSpurious = path.join(dir, 'world', 'val-nospurious.csv');
  const rows = fs
    .readFileSync(path.join(dir, 'world', 'metadata.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  fs.writeFileSync(
    noSpurious,
    'path,label\n' +
      rows
        .map((l) => l.split(','))
        .filter((c) => c[2] === '1')
        .map((c) => `${c[0]},${c[1]}`)
        .join('\n') +
      '\n',
  );
  const hidden = variant('hidden', (e) => (e.data.val = { manifest: 'world/val-nospurious.csv' }));
  const again = await discoverBiases(hidden, {});
  for (const [i, c] of again.discovery.classes.entries())
    assert.deepEqual(
      c.keywords.slice(0, 10).map((k) => [k.keyword, k.score]),
      discovery.classes[i].keywords.slice(0, 10).map((k) => [k.keyword, k.score]),
    );
});

test('a merged keyword is scored with the first spelling the tokenizer knows', async () => {
  const { discovery: d } = await discoverBiases(exp, { words: ['Oceans', 'zzzunknown'], llmWords: ['ocean'], builtin: false });
  assert.deepEqual(
    d.classes[0].keywords.map((k) => [k.keyword, k.sources]),
    [['Oceans', ['user', 'llm']]],
  );
  assert.deepEqual(d.skipped, [{ keyword: 'zzzunknown', reason: "unknown to the CLIP model's tokenizer" }]);
  const ocean = discovery.classes[0].keywords.find((k) => k.keyword === 'ocean')!;
  assert.equal(d.classes[0].keywords[0].score, ocean.score);
});

test('CLI: ranked table, --json with a final result, user words merged with the built-in list', () => {
  const r = run(['discover', exp, '--words', 'Oceans,zzzunknown', '--top', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /class landbird: \d+ misclassified \/ \d+ correct val images/);
  assert.match(r.stdout, /rank {2}score {4}95% interval/);
  assert.equal((r.stdout.match(/^ {5}\d {2}/gm) ?? []).length, 6, 'three rows per class');
  assert.match(r.stdout, /skipped \(unknown to the CLIP tokenizer\)/);
  assert.match(r.stderr, /LLM candidates skipped: no OPENAI_API_KEY/);
  const j = run(['discover', exp, '--json', '--no-builtin', '--no-llm', '--words', 'ocean,forest,sparrow']);
  assert.equal(j.code, 0, j.stderr);
  const lines = j.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const last = lines.at(-1);
  assert.equal(last.type, 'discovery');
  assert.deepEqual(last.discovery.classes[0].keywords.map((k: { keyword: string }) => k.keyword).sort(), ['forest', 'ocean', 'sparrow']);
  assert.ok(lines.some((l) => l.type === 'step-end' && l.step === 'discover'));
});

test('CLI: an unreachable LLM leaves the built-in list working', () => {
  const r = run(['discover', exp, '--base-url', 'http://127.0.0.1:9/v1', '--timeout', '5'], { OPENAI_API_KEY: 'local' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /LLM candidates (skipped|incomplete)/);
  assert.match(r.stdout, /bamboo|forest|ocean/);
});

test('CLI: --apply writes the grouping as a minimal edit, and the file still loads', () => {
  const file = variant('apply', () => undefined);
  const before = fs.readFileSync(file, 'utf8');
  const r = run(['discover', file, '--apply', '--attribute', 'scene', '--value', 'water=ocean,swamp', '--value', 'land=bamboo,forest']);
  assert.equal(r.code, 0, r.stderr);
  const after = fs.readFileSync(file, 'utf8');
  const e = JSON.parse(after);
  assert.deepEqual(e.task.spurious, { name: 'scene', values: ['water', 'land'] });
  assert.deepEqual(e.task.spuriousAnchors, ['a photo of a water place.', 'a photo of a land place.']);
  assert.ok(e.words.spurious.water.some((w: { text: string }) => w.text === 'swamp'));
  // the class words and everything after words.spurious keep their bytes
  const targets = before.slice(before.indexOf('"targets"'), before.indexOf('"spurious": {\n      "land"'));
  assert.ok(after.includes(targets));
  assert.equal(after.slice(0, before.indexOf('"spurious"')), before.slice(0, before.indexOf('"spurious"')));
  const bad = run(['discover', file, '--apply', '--attribute', 'scene', '--value', 'water=ocean']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /at least two values/);
  assert.equal(fs.readFileSync(file, 'utf8'), after, 'a refused grouping writes nothing');
});

test('CLI: bad input, each with a clear message and exit 2', () => {
  const noVal = variant('noval', (e) => delete e.data.val);
  let r = run(['discover', noVal, '--no-llm']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs a val split \(data\.val\) with class labels/);

  fs.writeFileSync(path.join(dir, 'world', 'val-nolabels.csv'), 'path\nval/' + fs.readdirSync(path.join(dir, 'world', 'val'))[0] + '\n');
  const noLabels = variant('nolabels', (e) => (e.data.val = { manifest: 'world/val-nolabels.csv' }));
  r = run(['discover', noLabels, '--no-llm']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no val image has a class label/);

  // val made of the images the classifier gets right: no error to explain
  const right = discovery.images.filter((im) => im.label === im.predicted);
  fs.writeFileSync(
    path.join(dir, 'world', 'val-right.csv'),
    'path,label\n' + right.map((im) => `${im.path},${im.label}`).join('\n') + '\n',
  );
  const noErrors = variant('noerrors', (e) => (e.data.val = { manifest: 'world/val-right.csv' }));
  r = run(['discover', noErrors, '--no-llm']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /makes no errors on the \d+ val images/);

  r = run(['discover', exp, '--no-llm', '--no-builtin']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /No candidate keywords/);
  r = run(['discover', exp, '--top', 'x']);
  assert.equal(r.code, 2);
});

test("CLI: --propose asks the LLM to group the last discovery's keywords and prints an --apply line; nothing is written", async () => {
  const server = await startFakeOpenAiServer();
  try {
    server.queue(
      chatReply(
        JSON.stringify({
          name: 'background',
          values: [
            { name: 'water', words: ['water', 'swamp'] },
            { name: 'land', words: ['bamboo', 'forest'] },
          ],
        }),
      ),
    );
    const before = fs.readFileSync(exp, 'utf8');
    const child = spawn(process.execPath, [cli, 'discover', exp, '--propose', '--top', '5', '--base-url', server.url], {
      env: { ...process.env, OPENAI_API_KEY: 'local' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, err);
    assert.match(out, /Proposed attribute "background":\n {2}water: water, swamp\n {2}land: bamboo, forest/);
    assert.match(out, /--apply --attribute 'background' --value 'water=water,swamp' --value 'land=bamboo,forest'/);
    assert.match(userPrompt(server.requests[0]!), /errors on "landbird": "water", "swamp", "marsh", /);
    assert.equal(fs.readFileSync(exp, 'utf8'), before);
  } finally {
    await server.close();
  }
});
