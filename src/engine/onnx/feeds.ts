// onnxruntime tensors in the element type a model declares: float16 models take and return
// float16 bit patterns, token ids may be int64 or int32. Everything else in the engine works in
// float32 and plain numbers.
import * as ort from 'onnxruntime-node';
import { fromFloat16Bits, toFloat16Bits } from './float16';

export const ElemType = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

export const isFloatType = (t: number): boolean => t === ElemType.FLOAT || t === ElemType.FLOAT16;
export const isIntegerIdType = (t: number): boolean => t === ElemType.INT64 || t === ElemType.INT32;

/** A float input: float32 as is, converted for a float16 input. */
export function floatTensor(elemType: number, data: Float32Array, dims: number[]): ort.Tensor {
  return elemType === ElemType.FLOAT16 ? new ort.Tensor('float16', toFloat16Bits(data), dims) : new ort.Tensor('float32', data, dims);
}

/** An integer input (token ids, masks) as int64 or int32. */
export function intTensor(elemType: number, values: ArrayLike<number>, dims: number[]): ort.Tensor {
  if (elemType === ElemType.INT32) return new ort.Tensor('int32', Int32Array.from(values), dims);
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims);
}

/** An output's values as float32, whatever float type the model returns. */
export function floatValues(t: ort.Tensor, what: string): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return fromFloat16Bits(t.data as Uint16Array);
  throw new Error(`${what} is ${t.type}, not a float tensor`);
}
