#!/usr/bin/env node
// Single lambda vs the default lambda grid, with val-groups and pseudo-groups selection, on the
// committed worlds (birds: the demo; fruit-small and fruit-3: test/fixtures/worlds/). Each run
// is its own `node dist/cli.js run` process under `/usr/bin/time -v`, so its peak RSS is its own.
// Results: docs/measurements/lambda-grid.md (written by hand from this script's output).
//
// usage (after `npm run compile && npm run build`):
//   node tools/measure/lambda-grid.mjs [--out DIR] [--worlds birds,fruit-small,fruit-3] [--seeds 3]
//     [--single 50] [--grid 1,5,20,50,200,1000] [--selections val-groups,pseudo-groups]
// Worlds are written once into DIR/<world>/ (full spec sizes, as the demo writes birds); a
// warm-up run per world fills the embedding cache first, so every measured run reads the same
// cached embeddings and differs only in the candidates it solves and trains.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const out = (p) => require(path.join(root, 'out', 'src', ...p.split('/')));
const { generateWorld } = out('engine/demo/generator.js');
const { demoWordsSchema, parseWorldSpec } = out('engine/demo/spec.js');
const { installWorldModels, worldExperiment, writeDemoExperiment } = out('engine/demo/experiment.js');
const cli = path.join(root, 'dist', 'cli.js');

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(os.tmpdir(), 'tldr-lambda-grid') },
    worlds: { type: 'string', default: 'birds,fruit-small,fruit-3' },
    seeds: { type: 'string', default: '3' },
    single: { type: 'string', default: '50' },
    grid: { type: 'string', default: '1,5,20,50,200,1000' },
    selections: { type: 'string', default: 'val-groups,pseudo-groups' },
    // `--configs single --label lambda-200 --single 200 --no-warmup`: one more lambda's test figure
    configs: { type: 'string', default: 'single,grid' },
    label: { type: 'string', default: 'single' },
    'no-warmup': { type: 'boolean', default: false },
  },
});
const nums = (s) => s.split(',').map(Number);
const worlds = values.worlds.split(',');
const seeds = Number(values.seeds);
const configs = Object.fromEntries(
  values.configs.split(',').map((c) => (c === 'single' ? [values.label, nums(values.single)] : [c, nums(values.grid)])),
);
const selections = values.selections.split(',');
fs.mkdirSync(values.out, { recursive: true });
const resultsFile = path.join(values.out, 'results.json');
const results = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : [];

async function setUp(world) {
  const dir = path.join(values.out, world);
  if (world === 'birds') return writeDemoExperiment(dir); // what `tldr-debias demo --out DIR` writes, without its runs
  const file = path.join(dir, `${world}.tldr.json`);
  const specFile = path.join(root, 'src', 'engine', 'demo', 'worlds', `${world}.json`);
  const spec = parseWorldSpec(JSON.parse(fs.readFileSync(specFile, 'utf8')));
  const words = demoWordsSchema.parse(JSON.parse(fs.readFileSync(specFile.replace(/\.json$/, '.words.json'), 'utf8')));
  const pre = await installWorldModels(path.join(root, 'test', 'fixtures', 'worlds', world), dir);
  await generateWorld(spec, path.join(dir, 'world'), { splits: ['train', 'val', 'test', 'captions'] });
  if (!fs.existsSync(file)) fs.writeFileSync(file, JSON.stringify(worldExperiment(spec, words, pre, world), null, 2));
  return file;
}

function run(base, name, settings) {
  const e = JSON.parse(fs.readFileSync(base, 'utf8'));
  e.settings = { ...(e.settings ?? {}), ...settings };
  const file = path.join(path.dirname(base), `${name}.tldr.json`);
  fs.writeFileSync(file, JSON.stringify(e, null, 2));
  const load = os.loadavg()[0];
  const t0 = Date.now();
  const p = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, 'run', file, '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const seconds = (Date.now() - t0) / 1000;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(p.stderr);
  const last = p.stdout.trim().split('\n').at(-1);
  const result = last ? JSON.parse(last) : undefined;
  if (p.status !== 0 || result?.type !== 'result') throw new Error(`${name} failed (${p.status}): ${p.stderr.slice(-2000)}`);
  return { summary: result.summary, seconds, maxRssMB: rss ? Number(rss[1]) / 1024 : undefined, load1: load };
}

const pct = (x) => (x === undefined ? undefined : Math.round(x * 1000) / 10);
for (const world of worlds) {
  const base = await setUp(world);
  if (!values['no-warmup']) {
    console.error(`[${new Date().toISOString()}] ${world}: warm-up run (fills the embedding cache)`);
    run(base, 'warmup', { seed: 0, lambda: nums(values.single) });
  }
  for (const selection of selections) {
    for (const [config, lambda] of Object.entries(configs)) {
      for (let seed = 0; seed < seeds; seed++) {
        if (results.some((r) => r.world === world && r.selection === selection && r.config === config && r.seed === seed)) continue;
        const r = run(base, `m-${config}-${selection}-${seed}`, { seed, lambda, selection });
        const s = r.summary;
        const row = {
          world,
          selection,
          config,
          lambdas: lambda,
          seed,
          tldr: pct(s.metrics.test?.tldr?.worstGroup),
          erm: pct(s.metrics.test?.erm?.worstGroup),
          dfr: pct(s.metrics.test?.dfr?.worstGroup),
          dfrGroups: s.metrics.test?.dfrGroups,
          clipZeroShot: pct(s.metrics.test?.clipZeroShot?.worstGroup),
          chosen: s.selection?.chosen,
          valByLambda: Object.fromEntries(
            lambda.map((l) => [
              l,
              pct(Math.max(...(s.selection?.candidates ?? []).filter((c) => c.lambda === l).map((c) => c.valScore ?? -1))),
            ]),
          ),
          pseudoAgreement: pct(s.selection?.pseudoLabels?.agreement),
          warnings: (s.warnings ?? []).map((w) => w.code),
          seconds: r.seconds,
          maxRssMB: r.maxRssMB,
          load1: r.load1,
        };
        results.push(row);
        fs.writeFileSync(resultsFile, JSON.stringify(results, null, 1));
        console.error(JSON.stringify(row));
      }
    }
  }
}

// summary table
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
console.log(
  '| world | selection | lambda | TLDR test worst (mean ± sd) | per seed | chosen (lambda, wd) per seed | ERM | DFR | peak RSS MB (mean, max) | s per run |',
);
console.log('|---|---|---|---:|---|---|---:|---:|---:|---:|');
for (const world of worlds)
  for (const selection of selections)
    for (const config of Object.keys(configs)) {
      const rs = results.filter((r) => r.world === world && r.selection === selection && r.config === config);
      if (!rs.length) continue;
      const t = rs.map((r) => r.tldr);
      const rss = rs.map((r) => r.maxRssMB);
      console.log(
        `| ${world} | ${selection} | ${config === 'grid' ? `grid ${configs.grid.join(',')}` : configs[config].join(',')} | ${mean(t).toFixed(1)} ± ${sd(t).toFixed(1)} | ${t.join(', ')} | ${rs
          .map((r) => `(${r.chosen?.lambda}, ${r.chosen?.weightDecay})`)
          .join(
            ' ',
          )} | ${mean(rs.map((r) => r.erm)).toFixed(1)} | ${mean(rs.map((r) => r.dfr)).toFixed(1)} | ${mean(rss).toFixed(0)}, ${Math.max(...rss).toFixed(0)} | ${mean(rs.map((r) => r.seconds)).toFixed(0)} |`,
      );
    }
