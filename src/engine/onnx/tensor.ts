// Reading and writing float initializers. Values go through DataView because raw_data is a view
// into the model buffer at an arbitrary (often unaligned) offset, which Float32Array rejects.
import { floatToHalf, halfToFloat } from './float16';
import { DataLocation, DataType, int64, TensorProto } from './proto';

export const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE]);

export function dataTypeName(t: number | undefined): string {
  const names: Record<number, string> = {
    1: 'float32',
    2: 'uint8',
    3: 'int8',
    4: 'uint16',
    5: 'int16',
    6: 'int32',
    7: 'int64',
    9: 'bool',
    10: 'float16',
    11: 'float64',
    12: 'uint32',
    13: 'uint64',
    16: 'bfloat16',
  };
  return names[t ?? 0] ?? `type ${t}`;
}

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map(int64);
}

/** The tensor's values as Float64. Throws a plain Error on unsupported types; callers word it for the user. */
export function readFloatTensor(t: TensorProto): Float64Array {
  const n = tensorDims(t).reduce((a, b) => a * b, 1);
  if (t.data_location === DataLocation.EXTERNAL) throw new Error(`tensor ${t.name} still points to external data`);
  const out = new Float64Array(n);
  const raw = t.raw_data;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = t.data_type === DataType.DOUBLE ? 8 : t.data_type === DataType.FLOAT ? 4 : 2;
    if (raw.length !== n * size)
      throw new Error(`tensor ${t.name} has ${raw.length} bytes of data for ${n} ${dataTypeName(t.data_type)} values`);
    for (let i = 0; i < n; i++) {
      if (t.data_type === DataType.FLOAT) out[i] = view.getFloat32(i * 4, true);
      else if (t.data_type === DataType.DOUBLE) out[i] = view.getFloat64(i * 8, true);
      else out[i] = halfToFloat(view.getUint16(i * 2, true));
    }
    return out;
  }
  // Typed fields: float in float_data, double in double_data, float16 bit patterns in int32_data.
  const src = t.data_type === DataType.FLOAT ? t.float_data : t.data_type === DataType.DOUBLE ? t.double_data : t.int32_data;
  const values = src ?? [];
  if (values.length !== n) throw new Error(`tensor ${t.name} has ${values.length} values for shape [${tensorDims(t).join(', ')}]`);
  for (let i = 0; i < n; i++) out[i] = t.data_type === DataType.FLOAT16 ? halfToFloat(values[i]) : values[i];
  return out;
}

/**
 * Replaces the tensor's values, keeping its element type: raw_data only, the typed fields and any
 * external-data reference cleared so no stale copy of the old weights survives.
 */
export function writeFloatTensor(t: TensorProto, values: ArrayLike<number>, dims: number[]): void {
  const type = t.data_type ?? DataType.FLOAT;
  const size = type === DataType.DOUBLE ? 8 : type === DataType.FLOAT ? 4 : 2;
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    if (type === DataType.FLOAT) view.setFloat32(i * 4, values[i], true);
    else if (type === DataType.DOUBLE) view.setFloat64(i * 8, values[i], true);
    else view.setUint16(i * 2, floatToHalf(values[i]), true);
  }
  t.dims = dims;
  t.raw_data = bytes;
  t.float_data = [];
  t.double_data = [];
  t.int32_data = [];
  t.external_data = [];
  delete t.data_location;
}
