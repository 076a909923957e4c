import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, encodeModelForSession, int64, newTensor, NodeProto } from '../../../src/engine/onnx/proto';
import { readFloatTensor, writeFloatTensor } from '../../../src/engine/onnx/tensor';
import { ONNX_PROTO_TEXT } from '../../../src/engine/onnx/onnxProtoText';

const ROOT = path.resolve(__dirname, '../../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/classifiers');

test('the embedded schema is the vendored onnx.proto', () => {
  assert.equal(ONNX_PROTO_TEXT, fs.readFileSync(path.join(ROOT, 'src/engine/onnx/onnx.proto'), 'utf8'));
});

test('every fixture decodes and re-encodes byte for byte', () => {
  for (const f of fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.onnx'))) {
    const bytes = fs.readFileSync(path.join(FIXTURES, f));
    assert.ok(Buffer.from(encodeModel(decodeModel(bytes))).equals(bytes), f);
  }
});

test('fields newer than the stale onnx-proto package survive (node metadata_props)', () => {
  const model = decodeModel(fs.readFileSync(path.join(FIXTURES, 'gemm_transb1.onnx')));
  const node = model.graph!.node![0] as NodeProto & { metadata_props?: { key: string; value: string }[] };
  node.metadata_props = [{ key: 'origin', value: 'test' }];
  const again = decodeModel(encodeModel(model)).graph!.node![0] as typeof node;
  assert.deepEqual(
    again.metadata_props?.map((e) => [e.key, e.value]),
    [['origin', 'test']],
  );
});

test('64-bit fields are read whether Long or number', () => {
  const model = decodeModel(fs.readFileSync(path.join(FIXTURES, 'gemm_transb1.onnx')));
  assert.equal(typeof model.ir_version, 'object', 'protobufjs returns Long for int64 here');
  assert.equal(int64(model.ir_version), 7);
  assert.equal(int64(5), 5);
  assert.equal(int64(undefined), 0);
});

test('raw_data at an unaligned offset is read correctly', () => {
  const values = [1.5, -2.25, 3e-3, 42];
  const buf = new Uint8Array(1 + 16);
  const view = new DataView(buf.buffer);
  values.forEach((v, i) => view.setFloat32(1 + 4 * i, v, true));
  const t = newTensor({ name: 'w', data_type: 1, dims: [2, 2], raw_data: buf.subarray(1) });
  assert.deepEqual(
    [...readFloatTensor(t)],
    values.map((v) => Math.fround(v)),
  );
});

test('float32, float64 and float16 tensors round-trip through raw_data and clear other storage', () => {
  const values = [0.1, -1, 65504, 1e-5, 0];
  for (const [type, tol] of [
    [1, 1e-7],
    [11, 0],
    [10, 1e-3],
  ] as const) {
    const t = newTensor({
      name: 'w',
      data_type: type,
      dims: [5],
      float_data: [9, 9, 9, 9, 9],
      external_data: [{ key: 'location', value: 'x' }],
      data_location: 1,
    });
    writeFloatTensor(t, values, [5]);
    assert.deepEqual(t.float_data, []);
    assert.deepEqual(t.external_data, []);
    assert.equal(Object.prototype.hasOwnProperty.call(t, 'data_location'), false);
    const back = readFloatTensor(t);
    values.forEach((v, i) => assert.ok(Math.abs(back[i] - v) <= tol * Math.max(1, Math.abs(v)), `type ${type}: ${back[i]} vs ${v}`));
  }
  // float16 stored in int32_data (bit patterns), as ONNX allows.
  const h = newTensor({ name: 'h', data_type: 10, dims: [3], int32_data: [0x3c00, 0xc000, 0x3555] });
  assert.deepEqual(
    [...readFloatTensor(h)].map((v) => +v.toFixed(4)),
    [1, -2, 0.3333],
  );
});

test('encodeModelForSession: large weights appended as they are, the same model for protobuf and onnxruntime', async () => {
  const file = path.join(ROOT, 'test/fixtures/clip/split/onnx/text_model.onnx');
  const bytes = fs.readFileSync(file);
  const model = decodeModel(bytes);
  const large = model.graph!.initializer!.filter((t) => (t.raw_data?.length ?? 0) >= 4096);
  assert.ok(large.length >= 1, 'the token embedding table (629 x 16 float32) takes the fast path');
  const fast = encodeModelForSession(model);
  assert.equal(fast.length, bytes.length, 'same fields, only in another order');
  assert.ok(!Buffer.from(fast).equals(bytes), 'the large initializers moved to the end of the graph');
  const again = decodeModel(fast);
  const byName = (m: typeof model) => new Map(m.graph!.initializer!.map((t) => [t.name, Buffer.from(t.raw_data ?? [])]));
  assert.deepEqual(byName(again), byName(model));
  assert.deepEqual(
    again.graph!.node!.map((n) => n.output),
    model.graph!.node!.map((n) => n.output),
  );
  const ids = new ort.Tensor('int64', BigInt64Array.from([627n, 320n, 515n, 628n]), [1, 4]);
  const mask = new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n]), [1, 4]);
  const run = async (m: Uint8Array) => {
    const s = await ort.InferenceSession.create(m);
    const out = (await s.run({ input_ids: ids, attention_mask: mask })).text_embeds.data;
    await s.release();
    return out;
  };
  assert.deepEqual(await run(fast), await run(bytes));
});
