// A small copy of the demo world (same models, spec with fewer images) so integration tests
// run the real pipeline in seconds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateWorld } from '../../src/engine/demo/generator';
import { parseWorldSpec } from '../../src/engine/demo/spec';
import { demoExperiment, installDemoModels, DEMO_FILE } from '../../src/engine/demo/experiment';
import birdsSpec from '../../src/engine/demo/worlds/birds.json';

export async function makeSmallDemo(dir: string): Promise<string> {
  const spec = parseWorldSpec(birdsSpec);
  const sizes: Record<string, number[][]> = {
    train: [
      [120, 8],
      [4, 40],
    ],
    val: [
      [20, 20],
      [20, 20],
    ],
    test: [
      [20, 20],
      [20, 20],
    ],
  };
  spec.splits = spec.splits
    .filter((s) => s.name !== 'pretrain')
    .map((s) => (s.role === 'metadata' ? { ...s, groups: sizes[s.name] ?? s.groups } : s.role === 'captions' ? { ...s, perCombo: 1 } : s));
  const pre = await installDemoModels(dir);
  await generateWorld(spec, path.join(dir, 'world'));
  const exp = demoExperiment(pre);
  // fewer epochs and candidates keep the suite quick; the demo itself uses the defaults
  exp.settings = { retrain: { epochs: 20, weightDecay: [1e-4, 1e-2] } };
  const file = path.join(dir, DEMO_FILE);
  fs.writeFileSync(file, JSON.stringify(exp, null, 2));
  return file;
}
