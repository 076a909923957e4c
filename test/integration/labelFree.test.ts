// Label-free TLDR on the small demo world, end to end through the engine: the gain over ERM,
// selection without val spurious labels (CLIP pseudo-groups), a collapsed head reported
// everywhere, the reference preset, the other selection modes and the ablation switches.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSmallDemo } from '../helpers/smallDemo';
import { tempDir } from '../helpers/paths';
import { runExperiment, runDetails } from '../../src/engine/api';
import { readSafetensors, toFloat64 } from '../../src/engine/io/safetensors';
import type { EngineEvent, RunSummary } from '../../src/protocol/events';
import { runJsonSchema, type RunJson } from '../../src/protocol/runRecord';

let dir: string;
let exp: string;

before(async () => {
  dir = tempDir('tldr-labelfree-');
  exp = await makeSmallDemo(dir);
});

/** a copy of the small demo's experiment with `edit` applied */
function variant(name: string, edit: (e: any) => void): string {
  const e = JSON.parse(fs.readFileSync(exp, 'utf8'));
  edit(e);
  const file = path.join(dir, `${name}.tldr.json`);
  fs.writeFileSync(file, JSON.stringify(e, null, 2));
  return file;
}

async function run(file: string, seed?: number): Promise<{ summary: RunSummary; record: RunJson; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  const summary = await runExperiment(file, { onEvent: (e) => events.push(e), ...(seed !== undefined ? { seed } : {}) });
  assert.equal(
    summary.status,
    'succeeded',
    `${summary.status}: ${JSON.stringify(summary.error)} ${events
      .filter((e) => e.type === 'log' && e.level !== 'info')
      .map((e) => (e as { message: string }).message)
      .join(' | ')}`,
  );
  const record = runJsonSchema.parse(JSON.parse(fs.readFileSync(path.join(summary.runDir, 'run.json'), 'utf8')));
  return { summary, record, events };
}

const testWorst = (s: RunSummary, head: 'erm' | 'tldr' | 'dfr' = 'tldr') => s.metrics.test![head]!.worstGroup;

/** the val rows of the world's metadata as a manifest without the spurious column */
function hideValSpurious(e: any): void {
  const meta = fs
    .readFileSync(path.join(dir, 'world', 'metadata.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const rows = meta.map((l) => l.split(',')).filter((c) => c[2] === '1');
  fs.writeFileSync(path.join(dir, 'world', 'val-no-spurious.csv'), ['path,label', ...rows.map((c) => `${c[0]},${c[1]}`)].join('\n') + '\n');
  e.data.val = { manifest: 'world/val-no-spurious.csv' };
}

test('TLDR beats the ERM head by at least 20 worst-group points on test', async () => {
  const { summary, record } = await run(exp);
  const gain = testWorst(summary) - testWorst(summary, 'erm');
  assert.ok(gain >= 0.2, `TLDR ${testWorst(summary)} vs ERM ${testWorst(summary, 'erm')}`);
  assert.equal(record.selection!.mode, 'val-groups');
  const tried = record.settings!.lambda.length - (record.selection!.skippedLambdas?.length ?? 0);
  assert.equal(record.selection!.candidates.length, tried * record.settings!.retrain.weightDecay.length);
  assert.ok(tried >= 2, 'several lambdas were compared');
  assert.equal(summary.metrics.test!.dfrGroups, 'val-groups');
  assert.ok(summary.metrics.test!.clipZeroShot, 'the CLIP zero-shot baseline is reported');
  assert.equal(record.dfr!.finalSubsets, 20);
});

test('without val spurious labels, auto selects on CLIP pseudo-groups and lands within 3 points of true val groups (3 seeds)', async () => {
  const hidden = variant('hidden', hideValSpurious);
  const diffs: number[] = [];
  for (const seed of [0, 1, 2]) {
    const withGroups = await run(exp, seed);
    const pseudo = await run(hidden, seed);
    assert.equal(pseudo.record.selection!.mode, 'pseudo-groups');
    assert.match(pseudo.record.selection!.reason, /lack spurious labels/);
    assert.equal(pseudo.summary.metrics.test!.dfrGroups, 'pseudo-groups', 'DFR falls back to pseudo-groups too');
    assert.equal(pseudo.record.selection!.pseudoLabels!.agreement, undefined, 'no true labels to agree with');
    assert.ok(withGroups.record.selection!.pseudoLabels!.agreement! >= 0.9, 'with true labels, the agreement is reported');
    assert.ok(testWorst(pseudo.summary) - testWorst(pseudo.summary, 'erm') >= 0.2, 'still far above ERM');
    diffs.push(testWorst(withGroups.summary) - testWorst(pseudo.summary));
  }
  const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  assert.ok(Math.abs(mean) <= 0.03, `mean difference ${mean} (per seed ${diffs.join(', ')})`);
});

test('a collapsed head (an untrained one) is reported in the log, run.json, the summary and report.md', async () => {
  // seed 1's initial head predicts one class everywhere; lr 1e-9 leaves it as it is
  const file = variant('collapse', (e) => (e.settings = { seed: 1, lambda: [50], retrain: { lr: 1e-9, epochs: 1, weightDecay: [0] } }));
  const { summary, record, events } = await run(file);
  const w = record.warnings?.find((x) => x.code === 'collapsed-head');
  assert.ok(w, 'run.json has the warning');
  assert.match(w.message, /predicts "(landbird|waterbird)" for (9\d|100)% of the images/);
  assert.match(w.fix, /epochs|words|lambda/);
  assert.ok(record.selection!.candidates[0]!.collapsed);
  assert.deepEqual(summary.warnings, record.warnings, 'the answer carries it to the editor');
  assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /collapsed/.test(e.message)));
  const report = fs.readFileSync(runDetails(summary.runDir).reportPath!, 'utf8');
  assert.match(report, /Warning \(collapsed-head\)/);
});

test('the reference preset runs the official step count and does not collapse on small word sets', async () => {
  const file = variant('reference', (e) => (e.settings = { lambda: [20], retrain: { preset: 'reference' } }));
  const { summary, record } = await run(file);
  assert.equal(record.settings!.retrain.steps, 1250);
  assert.equal(record.warnings?.some((w) => w.code === 'collapsed-head') ?? false, false);
  assert.ok(testWorst(summary) - testWorst(summary, 'erm') >= 0.2, `reference ${testWorst(summary)} vs ERM ${testWorst(summary, 'erm')}`);
});

test('class-balanced and worst-class selection need class labels only, and say so', async () => {
  for (const mode of ['class-balanced', 'worst-class'] as const) {
    const file = variant(mode, (e) => {
      hideValSpurious(e);
      e.settings = { ...e.settings, selection: mode, lambda: [5, 200] };
    });
    const { record } = await run(file);
    assert.equal(record.selection!.mode, mode);
    assert.match(record.selection!.on, mode === 'class-balanced' ? /class-balanced/ : /worst-class/);
    assert.ok(record.selection!.candidates.every((c) => c.valScore !== undefined && c.valWorstGroup === undefined));
  }
});

test('ablations are recorded and change what they say', async () => {
  const base = await run(
    variant('ablation-none', (e) => (e.settings = { ...e.settings, lambda: [20], retrain: { epochs: 5, weightDecay: [0] } })),
  );
  const ablated = await run(
    variant('ablation-all', (e) => {
      e.settings = {
        ...e.settings,
        lambda: [20],
        retrain: { epochs: 5, weightDecay: [0] },
        ablations: { noGapConstraint: true, noWordFilter: true, noTemplates: true },
      };
    }),
  );
  assert.deepEqual(ablated.record.settings!.ablations, { noGapConstraint: true, noWordFilter: true, noTemplates: true });
  assert.equal(ablated.record.settings!.retrain.templateAugmentation, false);
  // the gap constraint: G W = 0 with it, not without
  const gw = async (s: RunSummary) => {
    const t = (await readSafetensors(path.join(s.runDir, 'projector.safetensors'))).tensors;
    const [d, D] = t.W!.shape;
    const W = toFloat64(t.W!);
    const G = toFloat64(t.G!);
    let worst = 0;
    for (let j = 0; j < D!; j++) {
      let s2 = 0;
      for (let i = 0; i < d!; i++) s2 += G[i]! * W[i * D! + j]!;
      worst = Math.max(worst, Math.abs(s2));
    }
    return worst;
  };
  assert.ok((await gw(base.summary)) < 1e-4);
  assert.ok((await gw(ablated.summary)) > 1e-2);
  // every word trains without the filter, and one template instead of 80
  const textDetail = (ev: EngineEvent[]) =>
    ev.find((e) => e.type === 'step-end' && e.step === 'text-set' && 'detail' in e) as { detail: string };
  assert.match(textDetail(base.events).detail, /x 80 templates/);
  assert.match(textDetail(ablated.events).detail, /x 1 templates/);
  const pairs = (d: string) => [...d.matchAll(/: (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(pairs(textDetail(ablated.events).detail) > pairs(textDetail(base.events).detail), 'more pairs without the word filter');
});
