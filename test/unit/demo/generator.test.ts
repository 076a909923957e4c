import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { generateWorld, planWorld } from '../../../src/engine/demo/generator';
import { encodePngRgb } from '../../../src/engine/demo/png';
import { demoWordsSchema, parseWorldSpec, type WorldSpec } from '../../../src/engine/demo/spec';

// compiled to out/test/unit/demo: the world files stay in the source tree
const worlds = path.resolve(__dirname, '..', '..', '..', '..', 'src', 'engine', 'demo', 'worlds');
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(worlds, file), 'utf8'));

/** The birds world with tiny splits, so a test draws a few dozen images. */
function smallBirds(seed?: number): WorldSpec {
  const raw = readJson('birds.json') as Record<string, unknown>;
  return parseWorldSpec({
    ...raw,
    seed: seed ?? (raw.seed as number),
    splits: [
      {
        name: 'train',
        role: 'metadata',
        code: 0,
        groups: [
          [7, 2],
          [1, 5],
        ],
      },
      {
        name: 'val',
        role: 'metadata',
        code: 1,
        groups: [
          [2, 3],
          [3, 2],
        ],
      },
      {
        name: 'test',
        role: 'metadata',
        code: 2,
        groups: [
          [2, 2],
          [2, 2],
        ],
      },
      { name: 'captions', role: 'captions', perCombo: 1 },
    ],
  });
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tldr-demo-'));

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

function parseCsv(text: string): string[][] {
  // the generator quotes fields with commas (captions); enough of RFC 4180 for that
  return text
    .trimEnd()
    .split('\n')
    .map((line) =>
      [...line.matchAll(/("([^"]|"")*"|[^,]*)(,|$)/g)].slice(0, -1).map((m) => m[1].replace(/^"|"$/g, '').replace(/""/g, '"')),
    );
}

test('same spec and seed give identical bytes; another seed gives other images', async () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  await generateWorld(smallBirds(), a, { concurrency: 3 });
  await generateWorld(smallBirds(), b, { concurrency: 1 });
  await generateWorld(smallBirds(12345), c);
  const files = listFiles(a);
  assert.ok(files.length > 40);
  assert.deepEqual(listFiles(b), files);
  for (const f of files) assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs between runs`);
  const pngsA = files.filter((f) => f.endsWith('.png')).map((f) => fs.readFileSync(path.join(a, f)));
  const pngsC = listFiles(c)
    .filter((f) => f.endsWith('.png'))
    .map((f) => fs.readFileSync(path.join(c, f)));
  assert.equal(pngsC.length, pngsA.length);
  const same = pngsA.filter((buf, i) => buf.equals(pngsC[i])).length;
  assert.equal(same, 0, 'a different seed must draw different images');
});

test('metadata.csv is Waterbirds-style with the spec group counts per split', async () => {
  const spec = smallBirds();
  const dir = tmp();
  const res = await generateWorld(spec, dir);
  const rows = parseCsv(fs.readFileSync(res.metadata!, 'utf8'));
  assert.deepEqual(rows[0], ['img_filename', 'y', 'split', 'place']);
  const body = rows.slice(1);
  for (const split of spec.splits) {
    if (split.role !== 'metadata') continue;
    const mine = body.filter((r) => r[2] === String(split.code));
    split.groups.forEach((row, y) =>
      row.forEach((n, place) =>
        assert.equal(mine.filter((r) => r[1] === String(y) && r[3] === String(place)).length, n, `${split.name} group ${y},${place}`),
      ),
    );
  }
  // labels agree with what was drawn, and every image is a 64x64 RGB PNG
  for (const [file, y, , place] of body) {
    const [, kind, scene] = path.basename(file, '.png').split('_');
    assert.equal(spec.task.classes[Number(y)], spec.kinds.find((k) => k.name === kind)!.class);
    assert.equal(spec.task.spurious.values[Number(place)], spec.scenes.find((s) => s.name === scene)!.value);
  }
  const meta = await sharp(path.join(dir, body[0][0])).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 64, 64, 3]);
  const caps = parseCsv(fs.readFileSync(res.captions!, 'utf8'));
  assert.deepEqual(caps[0], ['image', 'caption']);
  assert.equal(caps.length - 1, spec.kinds.length * spec.scenes.length);
  for (const [image, caption] of caps.slice(1)) {
    assert.ok(fs.existsSync(path.join(dir, image)));
    assert.ok(caption.length > 3 && !caption.includes('{'), caption);
  }
});

test('a second run writes nothing; only requested splits are written', async () => {
  const dir = tmp();
  const first = await generateWorld(smallBirds(), dir, { splits: ['val'] });
  assert.deepEqual(first.counts, { val: 10 });
  assert.equal(first.written, 10);
  assert.equal(first.captions, undefined);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['metadata.csv', 'val']);
  const victim = path.join(
    dir,
    listFiles(dir).find((f) => f.endsWith('.png'))!,
  );
  fs.writeFileSync(victim, 'kept'); // present by name: not redrawn
  const second = await generateWorld(smallBirds(), dir, { splits: ['val'] });
  assert.equal(second.written, 0);
  assert.equal(second.skipped, 10);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'kept');
});

test('abort stops generation with an AbortError (reported as cancelled, not failed)', async () => {
  const ctrl = new AbortController();
  ctrl.abort();
  await assert.rejects(generateWorld(smallBirds(), tmp(), { signal: ctrl.signal }), { name: 'AbortError' });
});

test('the second world generates without code changes', async () => {
  const spec = parseWorldSpec(readJson('fruit-small.json'));
  assert.notDeepEqual(spec.task.classes, smallBirds().task.classes);
  const dir = tmp();
  const res = await generateWorld(spec, dir, { splits: ['val', 'captions', 'pretrain'] });
  assert.equal(res.counts.val, 96);
  const pre = parseCsv(fs.readFileSync(res.pretrain.pretrain, 'utf8'));
  assert.deepEqual(pre[0], ['image', 'caption', 'y', 'place', 'kind', 'scene']);
  const perImage = new Map<string, number>();
  for (const r of pre.slice(1)) perImage.set(r[0], (perImage.get(r[0]) ?? 0) + 1);
  assert.equal(perImage.size, 4 * 4 * 24);
  assert.ok([...perImage.values()].every((n) => n === 3));
  // pretrain is balanced over every kind x scene
  const byCombo = new Map<string, number>();
  for (const f of perImage.keys()) {
    const key = path.basename(f, '.png').split('_').slice(1).join('/');
    byCombo.set(key, (byCombo.get(key) ?? 0) + 1);
  }
  assert.equal(byCombo.size, 16);
  assert.ok([...byCombo.values()].every((n) => n === 24));
});

test('the birds world: ~95% agreement in train, balanced val/test, words file matches the task', () => {
  const spec = parseWorldSpec(readJson('birds.json'));
  const split = (name: string) => spec.splits.find((s) => s.name === name)!;
  const train = split('train');
  assert.equal(train.role, 'metadata');
  if (train.role !== 'metadata') return;
  const total = train.groups.flat().reduce((a, b) => a + b, 0);
  const agree = train.groups[0][0] + train.groups[1][1];
  assert.ok(agree / total > 0.93 && agree / total < 0.97, `agreement ${agree / total}`);
  for (const name of ['val', 'test']) {
    const s = split(name);
    assert.ok(s.role === 'metadata' && Math.min(...s.groups.flat()) >= 100, `${name} groups too small`);
  }
  const plan = planWorld(spec, ['train']);
  assert.equal(plan.length, total);
  assert.equal(new Set(plan.map((p) => p.kind)).size, spec.kinds.length);
  const words = demoWordsSchema.parse(readJson('birds.words.json'));
  assert.deepEqual(Object.keys(words.targets), spec.task.classes);
  assert.deepEqual(Object.keys(words.spurious), spec.task.spurious.values);
});

test('the schema rejects specs that cannot generate', () => {
  const raw = readJson('fruit-small.json') as Record<string, unknown> & { kinds: { class: string }[] };
  assert.throws(
    () => parseWorldSpec({ ...raw, kinds: raw.kinds.map((k, i) => (i === 0 ? { ...k, class: 'nut' } : k)) }),
    /unknown class .*nut/,
  );
  assert.throws(
    () =>
      parseWorldSpec({
        ...raw,
        splits: [
          {
            name: 'train',
            role: 'metadata',
            code: 0,
            groups: [
              [1, 2, 3],
              [1, 2, 3],
            ],
          },
        ],
      }),
    /groups must be 2 x 2/,
  );
});

test('the PNG writer round-trips pixels through a standard decoder', async () => {
  const [w, h] = [5, 3];
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
  const decoded = await sharp(encodePngRgb(rgb, w, h))
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([decoded.info.width, decoded.info.height, decoded.info.channels], [w, h, 3]);
  assert.ok(decoded.data.equals(Buffer.from(rgb)));
  assert.throws(() => encodePngRgb(rgb, w, h + 1), /expected/);
});
