import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '../../../src/engine/io/safetensors';

test('safetensors round-trips tensors of every dtype with metadata, data 8-byte aligned', () => {
  const bytes = encodeSafetensors(
    {
      W: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
      b: { dtype: 'F64', shape: [3], data: Float64Array.from([0.1, -0.2, 1e-300]) },
      y: { dtype: 'I32', shape: [2], data: Int32Array.from([7, -1]) },
      big: { dtype: 'I64', shape: [1], data: BigInt64Array.from([2n ** 40n]) },
    },
    { note: 'x' },
  );
  const headerLen = Number(Buffer.from(bytes).readBigUInt64LE(0));
  assert.equal((8 + headerLen) % 8, 0);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { note: 'x' });
  assert.deepEqual(Array.from(tensors.W.data as Float32Array), [1, 2, 3, 4, 5, 6.5]);
  assert.deepEqual(tensors.W.shape, [2, 3]);
  assert.deepEqual(Array.from(tensors.b.data as Float64Array), [0.1, -0.2, 1e-300]);
  assert.deepEqual(Array.from(tensors.y.data as Int32Array), [7, -1]);
  assert.equal((tensors.big.data as BigInt64Array)[0], 2n ** 40n);
});

test('a shape that does not match the data is refused', () => {
  assert.throws(
    () => encodeSafetensors({ W: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }),
    /shape \[2,2\] does not match 3 values/,
  );
});

test('garbage is reported as not a safetensors file', () => {
  assert.throws(
    () => decodeSafetensors(Buffer.from('hello world, not safetensors'), 'x.safetensors'),
    /x\.safetensors: not a safetensors file/,
  );
});
