#!/usr/bin/env node
// How to run one tower of optimum's single model.onnx (both CLIP towers in one graph), measured
// on a CLIP ViT-B/32-sized export (random weights; tools/bench/make_clip_single.py):
//   extract  the engine's way: each tower cut out of the graph with protobufjs (clip/clipTower.ts),
//            one session per tower, the embeddings read before CLIPModel's L2 normalisation
//   dummy    one session on the whole file; each call feeds the other tower a minimal dummy input
//            (one 224x224 zero image, or one token) and fetches only the wanted output
// Each mode runs in its own process (load time, resident memory), alternating, medians reported.
//
//   npx tsc -p . && /usr/bin/python3 tools/bench/make_clip_single.py
//   node tools/bench/clip_single_file.mjs [--repeats 3] [--calls 5]
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const file = path.join(root, 'bench', 'models', 'clip-single', 'model.onnx');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const TEXTS = 64;
const TOKENS = 12;
const IMAGES = 8;

async function child(mode, calls) {
  const ort = require(path.join(root, 'node_modules', 'onnxruntime-node'));
  const engine = (p) => require(path.join(root, 'out', 'src', 'engine', p));
  const now = () => performance.now();
  const ids = Array.from({ length: TEXTS * TOKENS }, (_, i) =>
    i % TOKENS === 0 ? 49406 : i % TOKENS === TOKENS - 1 ? 49407 : 300 + ((i * 37) % 40000),
  );
  const i64 = (v, dims) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), dims);
  const pixels = Float32Array.from({ length: IMAGES * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001));
  const feedsText = {
    input_ids: i64(ids, [TEXTS, TOKENS]),
    attention_mask: i64(
      ids.map(() => 1),
      [TEXTS, TOKENS],
    ),
  };
  const feedsImage = { pixel_values: new ort.Tensor('float32', pixels, [IMAGES, 3, 224, 224]) };
  const t0 = now();
  let runText;
  let runImage;
  const load = {};
  if (mode === 'extract') {
    const { readOnnxModel } = engine('onnx/model.js');
    const { openTower, towerRole } = engine('clip/clipTower.js');
    // as loadClip: the file decoded once, both towers cut and opened side by side, the decoded file dropped
    const open = async () => {
      const loaded = await readOnnxModel(file, towerRole('text'), false);
      load.decode = now() - t0;
      return Promise.all([openTower(file, 'text', {}, {}, loaded), openTower(file, 'vision', {}, {}, loaded)]);
    };
    const [text, vision] = await open();
    runText = async () => (await text.session.run(feedsText, [text.plan.read.name]))[text.plan.read.name].data;
    runImage = async () => (await vision.session.run(feedsImage, [vision.plan.read.name]))[vision.plan.read.name].data;
  } else {
    const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
    const dummyImage = { pixel_values: new ort.Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) };
    const dummyText = { input_ids: i64([49406, 49407], [1, 2]), attention_mask: i64([1, 1], [1, 2]) };
    runText = async () => (await session.run({ ...feedsText, ...dummyImage }, ['text_embeds'])).text_embeds.data;
    runImage = async () => (await session.run({ ...feedsImage, ...dummyText }, ['image_embeds'])).image_embeds.data;
  }
  load.total = now() - t0;
  // what stays resident: garbage collected, and a second for the freed pages to go back
  global.gc();
  await new Promise((r) => setTimeout(r, 1000));
  global.gc();
  const rssAfterLoad = process.memoryUsage().rss;
  const time = async (fn) => {
    const ts = [];
    let out;
    for (let i = 0; i < calls; i++) {
      const s = now();
      out = await fn();
      ts.push(now() - s);
    }
    ts.sort((a, b) => a - b);
    return { ms: ts[ts.length >> 1], out: Array.from(out.slice(0, 512 * 2)) };
  };
  const text = await time(runText);
  const image = await time(runImage);
  process.stdout.write(
    JSON.stringify({ mode, load, rssAfterLoadMiB: rssAfterLoad / 2 ** 20, rssPeakMiB: process.resourceUsage().maxRSS / 1024, text, image }),
  );
}

function unit(rows, dim = 512) {
  const out = [];
  for (let r = 0; r < rows.length / dim; r++) {
    const v = rows.slice(r * dim, (r + 1) * dim);
    const n = Math.hypot(...v);
    out.push(...v.map((x) => x / n));
  }
  return out;
}

async function main() {
  if (argv[0] === '--child') return child(argv[1], Number(argv[2]));
  const repeats = Number(opt('repeats', 3));
  const calls = Number(opt('calls', 5));
  const runs = { extract: [], dummy: [] };
  for (let r = 0; r < repeats; r++) {
    for (const mode of ['extract', 'dummy']) {
      const p = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', mode, String(calls)], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      if (p.status !== 0) throw new Error(p.stderr);
      runs[mode].push(JSON.parse(p.stdout));
      console.error(`[${mode} ${r + 1}/${repeats}] done`);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const summary = (mode) => {
    const rs = runs[mode];
    return {
      loadMs: med(rs.map((x) => x.load.total)),
      decodeMs: mode === 'extract' ? med(rs.map((x) => x.load.decode)) : undefined,
      rssAfterLoadMiB: med(rs.map((x) => x.rssAfterLoadMiB)),
      rssPeakMiB: med(rs.map((x) => x.rssPeakMiB)),
      textMsPerBatch: med(rs.map((x) => x.text.ms)),
      imageMsPerBatch: med(rs.map((x) => x.image.ms)),
    };
  };
  const e = runs.extract[0];
  const d = runs.dummy[0];
  // the dummy way can only return CLIPModel's normalised outputs: compare directions
  const diff = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  console.log(
    JSON.stringify(
      {
        file: path.relative(root, file),
        sizes: { texts: TEXTS, tokens: TOKENS, images: IMAGES, calls, repeats },
        extract: summary('extract'),
        dummy: summary('dummy'),
        maxAbsDiffOfUnitEmbeddings: { text: diff(unit(e.text.out), d.text.out), image: diff(unit(e.image.out), d.image.out) },
      },
      null,
      1,
    ),
  );
}

main();
