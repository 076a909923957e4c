// safetensors (https://github.com/huggingface/safetensors) read and write: an 8-byte
// little-endian header length, a JSON header, then raw little-endian tensor bytes.
// Chosen so caches and run artifacts are readable from Python with no conversion.
import * as fs from 'node:fs';
import { writeFileAtomic } from '../../shared/atomicWrite';

export type DType = 'F32' | 'F64' | 'I32' | 'I64';
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array;
}

const BYTES: Record<DType, number> = { F32: 4, F64: 8, I32: 4, I64: 8 };

export function f32(shape: number[], data: Float32Array): Tensor {
  return { dtype: 'F32', shape, data };
}

export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    const size = count * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    bytes.copy(out, pos);
    pos += bytes.length;
  }
  return out;
}

export function decodeSafetensors(
  buf: Uint8Array,
  source = 'safetensors',
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8) throw new Error(`${source}: not a safetensors file (too short)`);
  const n = Number(b.readBigUInt64LE(0));
  if (n > b.length - 8) throw new Error(`${source}: not a safetensors file (header length ${n} exceeds file size)`);
  let header: Record<string, { dtype: DType; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  } catch {
    throw new Error(`${source}: not a safetensors file (header is not JSON)`);
  }
  const base = 8 + n;
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = info as { dtype: DType; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new Error(`${source}: tensor ${name} has dtype ${dtype}; supported: F32, F64, I32, I64`);
    // copy: the offset may be unaligned for a typed-array view
    const bytes = Uint8Array.prototype.slice.call(b, base + data_offsets[0], base + data_offsets[1]);
    const ab = bytes.buffer;
    const data =
      dtype === 'F32'
        ? new Float32Array(ab)
        : dtype === 'F64'
          ? new Float64Array(ab)
          : dtype === 'I32'
            ? new Int32Array(ab)
            : new BigInt64Array(ab);
    tensors[name] = { dtype, shape, data };
  }
  return { tensors, metadata };
}

export async function writeSafetensors(file: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(file: string) {
  return decodeSafetensors(await fs.promises.readFile(file), file);
}

/** A tensor's values as Float64 whatever its stored dtype. */
export function toFloat64(t: Tensor): Float64Array {
  if (t.data instanceof Float64Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float64Array.from(t.data, (v) => Number(v));
  return Float64Array.from(t.data);
}
