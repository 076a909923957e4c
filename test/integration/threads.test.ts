// Every onnxruntime session the engine creates gets its intra-op thread count from the user's
// setting, else from os.availableParallelism() (issue 15): checked on the options actually
// handed to InferenceSession.create by the one factory (observeSessions), with real sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { loadExperiment } from '../../src/experiment';
import { createStepContext } from '../../src/engine/steps/context';
import { loadClassifier, loadClipModels } from '../../src/engine/steps/models';
import { ortGram } from '../../src/engine/math/ortLinalg';
import { observeSessions, threadsRecord } from '../../src/engine/onnxSession';
import type { EngineOptions } from '../../src/engine/options';
import { startRun } from '../../src/engine/runs/store';
import { runJsonSchema } from '../../src/protocol/runRecord';
import { sampleExperiment } from '../helpers/experiment';
import { repoRoot, tempDir } from '../helpers/paths';

const FIX = path.join(repoRoot, 'test', 'fixtures');

/** Loads the classifier and both CLIP towers and runs one double-precision product; returns each session's options. */
async function sessionsOf(settingsThreads: number | undefined, opts: Partial<EngineOptions>) {
  const dir = tempDir('tldr-threads-');
  const file = path.join(dir, 'x.tldr.json');
  const models = {
    clip: { dir: path.join(FIX, 'clip', 'split') },
    classifier: { path: path.join(FIX, 'classifier-exports', 'torchvision_resnet.onnx'), preprocessing: { resize: 16, crop: 16 } },
  };
  fs.writeFileSync(
    file,
    JSON.stringify({ ...sampleExperiment(), models, ...(settingsThreads !== undefined ? { settings: { threads: settingsThreads } } : {}) }),
  );
  const seen: { label: string; options: InferenceSession.SessionOptions }[] = [];
  const stop = observeSessions((label, options) => seen.push({ label, options }));
  try {
    const loaded = loadExperiment(file);
    const ctx = createStepContext(loaded, { cacheDir: path.join(dir, 'cache'), ...opts });
    const [cls, clip] = await Promise.all([loadClassifier(ctx), loadClipModels(ctx)]);
    await Promise.all([cls.release(), clip.model.release()]);
    // a product of this size runs in onnxruntime; its session is made once per thread count
    const n = 4;
    const { XtX } = await ortGram(
      Float64Array.from({ length: n * 2 }, (_, i) => i),
      new Float64Array(n * 3).fill(1),
      n,
      2,
      3,
      ctx.threads,
    );
    assert.equal(XtX[0], 0 + 4 + 16 + 36);
    // run.json records the choice
    const { folder } = await startRun(loaded, { threads: threadsRecord(ctx.threads) });
    const record = runJsonSchema.parse(JSON.parse(fs.readFileSync(folder.artifact('run.json'), 'utf8')));
    return { seen, choice: ctx.threads, record };
  } finally {
    stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const threadsOf = (seen: { options: InferenceSession.SessionOptions }[]) => seen.map((s) => s.options.intraOpNumThreads);
/** Every session, the image models (run side by side) included, gets all the threads. */
const expected = (seen: { label: string }[], T: number) => seen.map(() => T);

test('by default every session gets os.availableParallelism() intra-op threads, and run.json says so', async () => {
  const { seen, record } = await sessionsOf(undefined, {});
  const cores = os.availableParallelism();
  const labels = seen.map((s) => s.label);
  assert.ok(
    labels.some((l) => l.endsWith('torchvision_resnet.onnx')),
    labels.join(', '),
  );
  assert.ok(
    labels.some((l) => l.endsWith('text_model.onnx')),
    labels.join(', '),
  );
  assert.ok(
    labels.some((l) => l.endsWith('vision_model.onnx')),
    labels.join(', '),
  );
  assert.ok(
    labels.some((l) => /linear algebra \(gram\)/.test(l)),
    labels.join(', '),
  );
  assert.deepEqual(threadsOf(seen), expected(seen, cores));
  for (const s of seen) assert.equal(s.options.executionMode, 'sequential');
  assert.deepEqual(record.threads, { intraOpThreads: cores, source: 'cores', cores, models: 'side-by-side', imageDecoding: 1 });
});

test("the editor's setting, the experiment's settings.threads and the CLI's --threads, in that order of strength", async () => {
  const setting = await sessionsOf(undefined, { threads: 3, threadsSource: 'setting' });
  assert.deepEqual(threadsOf(setting.seen), expected(setting.seen, 3));
  assert.equal(setting.record.threads?.source, 'setting');

  const experiment = await sessionsOf(2, { threads: 3, threadsSource: 'setting' });
  assert.deepEqual(threadsOf(experiment.seen), expected(experiment.seen, 2));
  assert.equal(experiment.record.threads?.source, 'experiment');

  const cli = await sessionsOf(2, { threads: 1, threadsSource: 'cli' });
  assert.deepEqual(threadsOf(cli.seen), expected(cli.seen, 1));
  assert.deepEqual(cli.record.threads?.intraOpThreads, 1);
  assert.equal(cli.record.threads?.source, 'cli');
});

test('legacyThreads (the benchmark\'s "before") leaves the count to onnxruntime', async () => {
  const { seen, record } = await sessionsOf(undefined, { legacyThreads: true });
  assert.ok(seen.length >= 4);
  for (const s of seen) assert.equal(s.options.intraOpNumThreads, undefined);
  assert.equal(record.threads?.intraOpThreads, null);
  assert.equal(record.threads?.source, 'onnxruntime-default');
});

test('no engine file creates an onnxruntime session except through the factory', () => {
  const src = path.join(repoRoot, 'src');
  const offenders: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name) && /InferenceSession\.create\(/.test(fs.readFileSync(p, 'utf8'))) offenders.push(path.relative(src, p));
    }
  };
  walk(src);
  assert.deepEqual(offenders, ['engine/onnxSession.ts']);
});
