// A small valid experiment (Waterbirds-like) with user, locked and llm words, as raw JSON.
import { experimentSchema, type Experiment } from '../../../src/experiment/schema';

export function rawExperiment(): any {
  return {
    name: 'waterbirds demo',
    task: {
      classes: ['landbird', 'waterbird'],
      spurious: { name: 'background', values: ['land', 'water'] },
      targetAnchors: ['a photo of a landbird.', 'a photo of a waterbird.'],
      spuriousAnchors: ['a photo of a landplace.', 'a photo of a waterplace.'],
    },
    models: { clip: { dir: 'models/clip' }, classifier: { path: 'models/erm.onnx' } },
    data: { train: { embeddings: 'data/train.safetensors' } },
    words: {
      targets: {
        landbird: [{ text: 'Sparrow' }, { text: 'northern flicker', source: 'llm', locked: true }],
        waterbird: [{ text: 'mallard', source: 'llm' }],
      },
      spurious: { land: [{ text: 'pine forest', source: 'user' }], water: [] },
    },
    settings: { lambda: [10, 50], retrain: { lr: 1e-4 } },
  };
}

export function experiment(): Experiment {
  return experimentSchema.parse(rawExperiment());
}
