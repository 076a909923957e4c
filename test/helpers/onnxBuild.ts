// Minimal real ONNX graphs built in memory with the vendored onnx.proto, for tests that need
// a model of a particular shape (e.g. a CLIP vision tower with the wrong embedding size).
import * as fs from 'node:fs';
import { encodeModel, newTensor, type ModelProto } from '../../src/engine/onnx/proto';

const FLOAT = 1;

/** pixel_values [N,3,S,S] -> GlobalAveragePool -> Flatten -> MatMul [3,k] -> image_embeds [N,k] */
export function writeVisionModel(file: string, size: number, k: number): void {
  const w = new Float32Array(3 * k).map((_, i) => ((i * 7) % 5) - 2);
  const model: ModelProto & Record<string, unknown> = {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'vision',
      node: [
        { op_type: 'GlobalAveragePool', input: ['pixel_values'], output: ['pooled'], name: 'pool' },
        { op_type: 'Flatten', input: ['pooled'], output: ['flat'], name: 'flatten' },
        { op_type: 'MatMul', input: ['flat', 'proj'], output: ['image_embeds'], name: 'proj' },
      ],
      initializer: [newTensor({ name: 'proj', dims: [3, k], data_type: FLOAT, raw_data: new Uint8Array(w.buffer) })],
      input: [
        {
          name: 'pixel_values',
          type: {
            tensor_type: {
              elem_type: FLOAT,
              shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }, { dim_value: size }, { dim_value: size }] },
            },
          },
        },
      ],
      output: [
        { name: 'image_embeds', type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_param: 'N' }, { dim_value: k }] } } } },
      ],
    },
  };
  fs.writeFileSync(file, encodeModel(model));
}
