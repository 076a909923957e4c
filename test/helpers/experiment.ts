// A small valid experiment (as JSON input) for tests to start from and break.
import type { ExperimentInput } from '../../src/experiment/schema';

export function sampleExperiment(): ExperimentInput {
  return {
    version: 1,
    task: {
      classes: ['landbird', 'waterbird'],
      spurious: { name: 'background', values: ['land', 'water'] },
      targetAnchors: ['a photo of a landbird.', 'a photo of a waterbird.'],
      spuriousAnchors: ['a photo of a land place.', 'a photo of a water place.'],
    },
    models: { clip: { dir: 'clip' }, classifier: { path: 'classifier.onnx' } },
    data: { train: { manifest: 'metadata.csv', split: 'train' } },
    words: {
      targets: { landbird: [{ text: 'sparrow' }], waterbird: [{ text: 'duck' }] },
      spurious: { land: [{ text: 'forest' }], water: [{ text: 'ocean' }] },
    },
  };
}
