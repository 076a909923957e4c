// Trimming each prompt batch to its longest prompt (clipModel.encodeTexts) must give the same
// embeddings as padding to 77: the end token's output only sees earlier tokens under the causal
// mask, and pooling reads it at argmax(input_ids). Checked on a tiny CLIP-shaped export built in
// memory: a word-level tokenizer whose end token has the largest id (padding uses it, as Hugging
// Face does), one causal self-attention layer over a dynamic sequence axis, end-token pooling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClip } from '../../../src/engine/clip/clipModel';
import { clipSchema } from '../../../src/experiment/schema';
import { encodeModel, newTensor, type ModelProto, type NodeProto, type TensorProto } from '../../../src/engine/onnx/proto';
import { createRng } from '../../../src/engine/math/rng';
import { tempDir } from '../../helpers/paths';

const WORDS = [
  'a',
  'photo',
  'of',
  'the',
  'bird',
  'water',
  'forest',
  'small',
  'large',
  'on',
  'in',
  'blurry',
  'bright',
  'beach',
  'sky',
  '.',
  ',',
];
const UNK = WORDS.length,
  SOT = UNK + 1,
  EOT = UNK + 2,
  V = UNK + 3;
const H = 16,
  DIM = 8,
  CROP = 8;

function tokenizerJson(): object {
  const vocab: Record<string, number> = Object.fromEntries(WORDS.map((w, i) => [w, i]));
  Object.assign(vocab, { '[UNK]': UNK, '<|startoftext|>': SOT, '<|endoftext|>': EOT });
  const added = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const special = (tok: string, id: number) => ({ id: tok, ids: [id], tokens: [tok] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added('[UNK]', UNK), added('<|startoftext|>', SOT), added('<|endoftext|>', EOT)],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '<|startoftext|>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|endoftext|>', type_id: 0 } },
      ],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|startoftext|>': special('<|startoftext|>', SOT), '<|endoftext|>': special('<|endoftext|>', EOT) },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

const rng = createRng(5);
const floats = (name: string, dims: number[], scale = 0.5): TensorProto =>
  newTensor({ name, data_type: 1, dims, float_data: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale) });
const ints = (name: string, values: number[]): TensorProto =>
  newTensor({ name, data_type: 7, dims: [values.length], raw_data: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
const scalarF = (name: string, v: number): TensorProto => newTensor({ name, data_type: 1, dims: [], float_data: [v] });
const io = (name: string, elem: number, dims: (number | string)[]) => ({
  name,
  type: {
    tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } },
  },
});
const node = (op_type: string, input: string[], output: string[], attribute: object[] = []): NodeProto =>
  ({ op_type, input, output, attribute }) as NodeProto;
const attrI = (name: string, i: number) => ({ name, type: 2, i });
const attrInts = (name: string, ints: number[]) => ({ name, type: 7, ints });
const model = (nodes: NodeProto[], initializer: TensorProto[], input: object[], output: object[]): Uint8Array =>
  encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: { name: 'tiny', node: nodes, initializer, input, output },
  } as unknown as ModelProto);

/** input_ids, attention_mask [B, L] -> text_embeds [B, DIM]: embeddings, one causal attention layer, end-token pooling. */
function textModel(): Uint8Array {
  return model(
    [
      node('Gather', ['emb', 'input_ids'], ['tok']),
      node('Shape', ['input_ids'], ['shape']),
      node('Slice', ['shape', 'one', 'two'], ['L']),
      node('Slice', ['pos', 'zero', 'L', 'zero'], ['posL']),
      node('Add', ['tok', 'posL'], ['x']),
      node('MatMul', ['x', 'wq'], ['q']),
      node('MatMul', ['x', 'wk'], ['k']),
      node('MatMul', ['x', 'wv'], ['v']),
      node('Transpose', ['k'], ['kt'], [attrInts('perm', [0, 2, 1])]),
      node('MatMul', ['q', 'kt'], ['scores']),
      // causal: -1e9 strictly above the diagonal; padding: -1e9 on padded keys
      node('Concat', ['L', 'L'], ['LL'], [attrI('axis', 0)]),
      node('ConstantOfShape', ['LL'], ['ones'], [{ name: 'value', type: 4, t: newTensor({ data_type: 1, dims: [1], float_data: [1] }) }]),
      node('Trilu', ['ones', 'one'], ['upper'], [attrI('upper', 1)]),
      node('Mul', ['upper', 'neg'], ['causal']),
      node('Cast', ['attention_mask'], ['m'], [attrI('to', 1)]),
      node('Sub', ['fone', 'm'], ['pad0']),
      node('Mul', ['pad0', 'neg'], ['pad1']),
      node('Unsqueeze', ['pad1', 'one'], ['pad']),
      node('Add', ['scores', 'causal'], ['s1']),
      node('Add', ['s1', 'pad'], ['s2']),
      node('Softmax', ['s2'], ['att'], [attrI('axis', -1)]),
      node('MatMul', ['att', 'v'], ['ctx']),
      node('Add', ['x', 'ctx'], ['res']),
      node('Tanh', ['res'], ['y']),
      // pooled = y at argmax(input_ids), as a one-hot product
      node('ArgMax', ['input_ids'], ['eot'], [attrI('axis', 1), attrI('keepdims', 0)]),
      node('OneHot', ['eot', 'L', 'offon'], ['hot'], [attrI('axis', -1)]),
      node('Unsqueeze', ['hot', 'one'], ['hot3']),
      node('MatMul', ['hot3', 'y'], ['pooled3']),
      node('Reshape', ['pooled3', 'flat'], ['pooled']),
      node('MatMul', ['pooled', 'proj'], ['text_embeds']),
    ],
    [
      floats('emb', [V, H]),
      floats('pos', [77, H], 0.1),
      floats('wq', [H, H]),
      floats('wk', [H, H]),
      floats('wv', [H, H]),
      floats('proj', [H, DIM]),
      ints('zero', [0]),
      ints('one', [1]),
      ints('two', [2]),
      ints('flat', [0, -1]),
      scalarF('neg', -1e9),
      scalarF('fone', 1),
      newTensor({ name: 'offon', data_type: 1, dims: [2], float_data: [0, 1] }),
    ],
    [io('input_ids', 7, ['batch', 'sequence']), io('attention_mask', 7, ['batch', 'sequence'])],
    [io('text_embeds', 1, ['batch', DIM])],
  );
}

/** pixel_values [B, 3, CROP, CROP] -> image_embeds [B, DIM] */
function visionModel(): Uint8Array {
  return model(
    [
      node('ReduceMean', ['pixel_values'], ['mean'], [attrInts('axes', [2, 3]), attrI('keepdims', 0)]),
      node('MatMul', ['mean', 'w'], ['image_embeds']),
    ],
    [floats('w', [3, DIM])],
    [io('pixel_values', 1, ['batch', 3, CROP, CROP])],
    [io('image_embeds', 1, ['batch', DIM])],
  );
}

test('prompt batches trimmed to their longest prompt give the embeddings of padding to 77', async () => {
  const dir = tempDir('tldr-trim-');
  try {
    fs.mkdirSync(path.join(dir, 'onnx'));
    fs.writeFileSync(path.join(dir, 'onnx', 'text_model.onnx'), textModel());
    fs.writeFileSync(path.join(dir, 'onnx', 'vision_model.onnx'), visionModel());
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
    fs.writeFileSync(
      path.join(dir, 'preprocessor_config.json'),
      JSON.stringify({
        size: { shortest_edge: CROP },
        crop_size: { height: CROP, width: CROP },
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
      }),
    );
    const clip = await loadClip(clipSchema.parse({ dir }), (p) => p);
    try {
      assert.equal(clip.tokenizer.endId, EOT);
      const prompts = [
        'a photo of a bird.',
        'bird',
        'a blurry photo of the large bird in the forest on the beach.',
        'sky',
        'a bright photo of a small water bird, in the sky.',
        'the bird.',
        'a photo of the forest',
      ];
      const lens = prompts.map((p) => clip.tokenizer.encode(p).length);
      assert.ok(Math.max(...lens) < 20 && Math.min(...lens) <= 3, `lengths ${lens}`);
      const padded = await clip.encodeTexts(prompts, { batchSize: 3, padTo: 77 });
      const trimmed = await clip.encodeTexts(prompts, { batchSize: 3 });
      const single = await clip.encodeTexts(prompts, { batchSize: 1 });
      let maxAbs = 0,
        dTrim = 0,
        dSingle = 0;
      for (let i = 0; i < padded.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(padded[i]));
        dTrim = Math.max(dTrim, Math.abs(trimmed[i] - padded[i]));
        dSingle = Math.max(dSingle, Math.abs(single[i] - padded[i]));
      }
      assert.ok(maxAbs > 0.1, 'embeddings are not trivial');
      assert.ok(dTrim / maxAbs <= 1e-5, `trimmed batches differ by ${dTrim / maxAbs}`);
      assert.ok(dSingle / maxAbs <= 1e-5, `one prompt per batch differs by ${dSingle / maxAbs}`);
      // rows come back in input order: distinct prompts give distinct embeddings
      const row = (a: Float32Array, i: number) => Array.from(a.subarray(i * DIM, (i + 1) * DIM));
      assert.notDeepEqual(row(trimmed, 0), row(trimmed, 1));
    } finally {
      await clip.release();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
