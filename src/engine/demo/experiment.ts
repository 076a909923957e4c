// The demo experiment: the committed tiny models and the generated world, written into a
// folder of the user's choosing, plus `demo.tldr.json` pointing at them. Everything the demo
// needs is regenerated or copied only when missing, and an existing experiment file is never
// overwritten (the user may have edited its words).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineOptions } from '../api';
import type { ExperimentInput } from '../../experiment';
import { writeFileAtomic } from '../../shared/atomicWrite';
import { createExperimentFile } from '../../experiment';
import { generateWorld } from './generator';
import { demoWordsSchema, parseWorldSpec, type DemoWords, type WorldSpec } from './spec';
import birdsSpec from './worlds/birds.json';
import birdsWords from './worlds/birds.words.json';

export const DEMO_FILE = 'demo.tldr.json';
const WORLD_SPLITS = ['train', 'val', 'test', 'captions'];

/**
 * The installed package's root (the repo, the npm package or the VSIX): the first folder up
 * with our package.json and the media folder (tsc also copies package.json into out/).
 */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && fs.existsSync(path.join(dir, 'media')) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'tldr-debias')
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the tldr-debias package root above ${from}`);
  }
}

export const demoAssetsDir = () => path.join(packageRoot(), 'media', 'demo', 'birds');

export interface DemoPreprocessing {
  resize: number;
  crop: number;
  mean: [number, number, number];
  std: [number, number, number];
}

async function copyIfMissing(from: string, to: string): Promise<void> {
  const st = await fs.promises.stat(from);
  if (st.isDirectory()) {
    for (const name of await fs.promises.readdir(from)) await copyIfMissing(path.join(from, name), path.join(to, name));
    return;
  }
  const have = await fs.promises.stat(to).catch(() => undefined);
  if (have?.size === st.size) return;
  await writeFileAtomic(to, await fs.promises.readFile(from));
}

/**
 * The experiment for a generated world: its task, the models under models/, the world's
 * metadata.csv and captions.csv under world/, and the world's word file imported as an LLM
 * answer (mess included: it stands in for one).
 */
export function worldExperiment(world: WorldSpec, words: DemoWords, pre: DemoPreprocessing, name: string): ExperimentInput {
  const entries = (lists: Record<string, string[]>) =>
    Object.fromEntries(Object.entries(lists).map(([k, ws]) => [k, ws.map((text) => ({ text, source: 'llm' as const }))]));
  return {
    version: 1,
    name,
    task: { ...world.task, lowercaseWords: true },
    models: {
      clip: { dir: 'models/clip' },
      classifier: { path: 'models/classifier.onnx', preprocessing: pre },
    },
    data: {
      train: { manifest: 'world/metadata.csv', split: 'train' },
      val: { manifest: 'world/metadata.csv', split: 'val' },
      test: { manifest: 'world/metadata.csv', split: 'test' },
      captions: { path: 'world/captions.csv' },
    },
    words: { targets: entries(words.targets), spurious: entries(words.spurious) },
  };
}

export function demoExperiment(pre: DemoPreprocessing): ExperimentInput {
  return worldExperiment(parseWorldSpec(birdsSpec), demoWordsSchema.parse(birdsWords), pre, 'Demo: birds on land and water');
}

/**
 * Copy a world's trained tiny CLIP and classifier (as tools/demo/train_demo_models.py writes
 * them: clip/, classifier.onnx, provenance.json) from `assets` into dir/models; returns the
 * classifier's preprocessing.
 */
export async function installWorldModels(assets: string, dir: string): Promise<DemoPreprocessing> {
  await copyIfMissing(path.join(assets, 'clip'), path.join(dir, 'models', 'clip'));
  await copyIfMissing(path.join(assets, 'classifier.onnx'), path.join(dir, 'models', 'classifier.onnx'));
  const provenance = JSON.parse(await fs.promises.readFile(path.join(assets, 'provenance.json'), 'utf8'));
  return provenance.classifier.preprocessing;
}

/** Copy the committed tiny CLIP and classifier into dir/models; returns the classifier's preprocessing. */
export function installDemoModels(dir: string): Promise<DemoPreprocessing> {
  return installWorldModels(demoAssetsDir(), dir);
}

export async function writeDemoExperiment(dir: string, opts: Pick<EngineOptions, 'onEvent' | 'signal'> = {}): Promise<string> {
  const log = (message: string) => opts.onEvent?.({ type: 'log', level: 'info', message });
  await fs.promises.mkdir(dir, { recursive: true });
  const preprocessing = await installDemoModels(dir);
  const world = parseWorldSpec(birdsSpec);
  let last = 0;
  const result = await generateWorld(world, path.join(dir, 'world'), {
    splits: WORLD_SPLITS,
    signal: opts.signal,
    onProgress: (done, total) => {
      if (done === total || Date.now() - last > 1000) {
        last = Date.now();
        log(`demo world: ${done}/${total} images`);
      }
    },
  });
  log(`demo world: ${result.written} images written, ${result.skipped} already there`);
  const file = path.join(dir, DEMO_FILE);
  if (!(await createExperimentFile(file, JSON.stringify(demoExperiment(preprocessing), null, 2) + '\n')))
    log(`${file} exists: kept as it is`);
  return file;
}
