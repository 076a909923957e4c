import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { exportDebiased, inspectClassifier, prepareClassifier, PreparedClassifier } from '../../../src/engine/onnx';

const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/classifiers');
const fixture = (name: string) => path.join(FIXTURES, name);

const VARIANTS = [
  'gemm_transb1.onnx',
  'gemm_transb0.onnx',
  'gemm_alpha_beta.onnx',
  'gemm_no_bias.onnx',
  'gemm_float_data.onnx',
  'gemm_shared_weight.onnx',
  'matmul_add.onnx',
  'matmul_add_swapped_identity.onnx',
  'external.onnx',
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomArray(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => r() * 2);
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tldr-onnx-'));
}

const BATCH = 3;
const image = new ort.Tensor(
  'float32',
  Float32Array.from(randomArray(BATCH * 3 * 8 * 8, 7), (v) => v * 4),
  [BATCH, 3, 8, 8],
);

async function run(model: string | Uint8Array, outputs?: string[]): Promise<Record<string, Float32Array>> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    const res = await session.run({ image }, outputs ?? session.outputNames);
    return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** logits must equal features · Wᵀ + b for every row. */
function assertLinear(features: Float32Array, logits: Float32Array, W: ArrayLike<number>, b: ArrayLike<number>, C: number, D: number) {
  assert.equal(features.length, BATCH * D);
  assert.equal(logits.length, BATCH * C);
  for (let n = 0; n < BATCH; n++) {
    for (let c = 0; c < C; c++) {
      let z = b[c];
      for (let d = 0; d < D; d++) z += features[n * D + d] * W[c * D + d];
      assert.ok(Math.abs(logits[n * C + c] - z) < 1e-5, `row ${n} class ${c}: onnxruntime ${logits[n * C + c]} vs features·Wᵀ+b ${z}`);
    }
  }
}

async function onePass(p: PreparedClassifier) {
  const out = await run(p.modelBytes, [p.logitsName, p.featuresName]);
  return { features: out[p.featuresName], logits: out[p.logitsName] };
}

for (const variant of VARIANTS) {
  test(`${variant}: features found, logits = features·Wᵀ + b`, async () => {
    const p = await prepareClassifier(fixture(variant));
    assert.equal(p.numClasses, 3);
    assert.equal(p.featureDim, 6);
    assert.equal(p.weight.length, 18);
    assert.equal(p.bias.length, 3);
    assert.deepEqual(p.imageInput, {
      name: 'image',
      shape: ['batch', 3, 8, 8],
      elemType: 1,
      layout: 'NCHW',
      fixedBatch: undefined,
      height: 8,
      width: 8,
    });
    assert.equal(p.logitsName, 'logits');
    const { features, logits } = await onePass(p);
    // The extra output must be the same tensor the original model computes its logits from.
    assert.deepEqual(logits, (await run(fixture(variant)))['logits']);
    assertLinear(features, logits, p.weight, p.bias, 3, 6);
  });

  test(`${variant}: exported debiased model uses the new W and b, input untouched`, async () => {
    const src = fixture(variant);
    const dataFile = src + '.data';
    const before = sha256(src);
    const dataBefore = fs.existsSync(dataFile) ? sha256(dataFile) : undefined;
    const orig = await prepareClassifier(src);
    const W = Float32Array.from(randomArray(18, 11));
    const b = randomArray(3, 12);

    const dir = tmpDir();
    try {
      const out = path.join(dir, 'model.debiased.onnx');
      await exportDebiased(src, out, W, b);
      assert.equal(sha256(src), before, 'the user model must stay byte-identical');
      if (dataBefore) assert.equal(sha256(dataFile), dataBefore);
      assert.deepEqual(fs.readdirSync(dir), ['model.debiased.onnx'], 'no temp files or data files left beside the export');

      // Loaded from its own folder (no .data there): the export is self-contained.
      const exp = await prepareClassifier(out);
      assert.equal(exp.layer.op, orig.layer.op);
      assert.equal(exp.layer.transB, orig.layer.transB);
      if (exp.layer.op === 'Gemm') assert.deepEqual([exp.layer.alpha, exp.layer.beta], [1, 1]);
      for (let i = 0; i < 18; i++) assert.ok(Math.abs(exp.weight[i] - W[i]) < 1e-6);
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(exp.bias[i] - b[i]) < 1e-6);

      const { features, logits } = await onePass(exp);
      assert.deepEqual(features, (await onePass(orig)).features, 'the backbone must be unchanged');
      assertLinear(features, logits, W, b, 3, 6);
      assert.notDeepEqual(logits, (await onePass(orig)).logits);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a weight shared with another node is copied, not overwritten', async () => {
  const src = fixture('gemm_shared_weight.onnx');
  const dir = tmpDir();
  try {
    const out = path.join(dir, 'm.onnx');
    await exportDebiased(src, out, randomArray(18, 3), randomArray(3, 4));
    const exp = await inspectClassifier(out);
    assert.notEqual(exp.layer.weightInitializer, 'W');
    assert.deepEqual((await run(out, ['aux']))['aux'], (await run(src, ['aux']))['aux']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Gemm alpha and beta are folded into W and b', async () => {
  const p = await inspectClassifier(fixture('gemm_alpha_beta.onnx'));
  assert.deepEqual([p.layer.alpha, p.layer.beta], [0.5, 2]);
  // Checked against onnxruntime in the variant tests; here that the fold is not a no-op.
  const plain = p.weight.map((v) => v / 0.5);
  assert.notDeepEqual(plain, p.weight);
});

test('gemm_no_bias: a missing C is a zero bias, and the export adds one', async () => {
  const p = await inspectClassifier(fixture('gemm_no_bias.onnx'));
  assert.deepEqual([...p.bias], [0, 0, 0]);
  assert.equal(p.layer.biasInitializer, undefined);
});

test('the logits output can be named; an unknown name is refused with the outputs listed', async () => {
  const p = await inspectClassifier(fixture('gemm_shared_weight.onnx'), { logits: 'aux' });
  assert.deepEqual([...p.bias], [0, 0, 0]);
  await assert.rejects(inspectClassifier(fixture('gemm_transb1.onnx'), { logits: 'probs' }), /no output named "probs".*"logits"/);
});

test('a model without a final linear layer is refused', async () => {
  const file = fixture('no_linear.onnx');
  await assert.rejects(prepareClassifier(file), (err: Error) => {
    assert.equal(err.name, 'InputError');
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /no final linear layer found: output "logits" is computed by a Flatten node/);
    assert.match(err.message, /Gemm.*MatMul \+ Add/);
    return true;
  });
});

test('a linear layer whose weight is not a constant initializer is refused', async () => {
  await assert.rejects(
    inspectClassifier(fixture('weight_not_constant.onnx')),
    /weight_not_constant\.onnx: no final linear layer found: the weight "W" of the Gemm node is a graph input, not a constant initializer/,
  );
});

test('missing, non-ONNX and folder paths are refused with messages naming the file', async () => {
  const dir = tmpDir();
  try {
    const missing = path.join(dir, 'nope.onnx');
    await assert.rejects(inspectClassifier(missing), (err: Error) => {
      assert.equal(err.name, 'InputError');
      assert.ok(err.message.startsWith(`Cannot read the classifier model ${missing}: the file does not exist.`), err.message);
      return true;
    });
    const text = path.join(dir, 'notes.onnx');
    fs.writeFileSync(text, 'this is not a model\n'.repeat(20));
    await assert.rejects(inspectClassifier(text), (err: Error) => {
      assert.equal(err.name, 'InputError');
      assert.ok(err.message.startsWith(`${text} is not an ONNX model`), err.message);
      return true;
    });
    const random = path.join(dir, 'random.onnx');
    fs.writeFileSync(random, Buffer.from(randomArray(4096, 5).map((v) => (v + 1) * 127)));
    await assert.rejects(inspectClassifier(random), /random\.onnx is not an ONNX model/);
    await assert.rejects(inspectClassifier(dir), /it is a folder, not a file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a model separated from its external data file names the missing file', async () => {
  const dir = tmpDir();
  try {
    const lone = path.join(dir, 'external.onnx');
    fs.copyFileSync(fixture('external.onnx'), lone);
    await assert.rejects(prepareClassifier(lone), (err: Error) => {
      assert.ok(err.message.includes(path.join(dir, 'external.onnx.data')), err.message);
      assert.match(err.message, /beside the \.onnx file/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('exportDebiased refuses to overwrite the input and checks the head size', async () => {
  const src = fixture('gemm_transb1.onnx');
  const before = sha256(src);
  await assert.rejects(exportDebiased(src, src, new Float32Array(18), new Float32Array(3)), /Refusing to overwrite/);
  const dir = tmpDir();
  try {
    await assert.rejects(exportDebiased(src, path.join(dir, 'x.onnx'), new Float32Array(12), new Float32Array(3)), /\[3, 6\].*12 values/);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(sha256(src), before);
});
