// The ONNX schema, loaded with protobufjs from the vendored onnx.proto. The text is embedded
// (onnxProtoText.ts) rather than read from disk so the same code works from tsc's out/ and from
// an esbuild bundle in dist/ with no loader configuration.
import * as protobuf from 'protobufjs';
import { ONNX_PROTO_TEXT } from './onnxProtoText';

/** int64 fields decode as Long objects (protobufjs uses the `long` package) or plain numbers. */
export type Int64 = number | { toNumber(): number };

export function int64(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

// Only the fields this module reads or writes; decoded messages carry every field of the schema.
export interface StringStringEntryProto {
  key?: string;
  value?: string;
}

export interface TensorProto {
  dims?: Int64[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  double_data?: number[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: StringStringEntryProto[];
  data_location?: number;
}

export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  g?: GraphProto;
  graphs?: GraphProto[];
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
}

export interface TensorShapeDimension {
  dim_value?: Int64;
  dim_param?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDimension[] } };
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  sparse_initializer?: { values?: TensorProto }[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface ModelProto {
  ir_version?: Int64;
  graph?: GraphProto;
}

export const DataType = { FLOAT: 1, FLOAT16: 10, DOUBLE: 11 } as const;
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
export const AttributeType = { FLOAT: 1, INT: 2 } as const;

interface Types {
  model: protobuf.Type;
  graph: protobuf.Type;
  tensor: protobuf.Type;
}
let cached: Types | undefined;

function types(): Types {
  if (!cached) {
    // keepCase: use the schema's snake_case names (raw_data, op_type), as the ONNX docs do.
    const root = protobuf.parse(ONNX_PROTO_TEXT, { keepCase: true }).root;
    cached = {
      model: root.lookupType('onnx.ModelProto'),
      graph: root.lookupType('onnx.GraphProto'),
      tensor: root.lookupType('onnx.TensorProto'),
    };
  }
  return cached;
}

/** Throws on malformed protobuf; the caller decides whether the result looks like a model. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return types().model.decode(bytes) as unknown as ModelProto;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return types()
    .model.encode(model as unknown as protobuf.Message)
    .finish();
}

/** A TensorProto message instance, so it encodes like the decoded ones. */
export function newTensor(fields: TensorProto): TensorProto {
  return types().tensor.create(fields as Record<string, unknown>) as unknown as TensorProto;
}

// Weights at least this large skip protobufjs's writer (see encodeModelForSession).
const LARGE_WEIGHT_BYTES = 4096;

/** A protobuf length-delimited field header: tag (field number, wire type 2) and length varint. */
function delimitedHeader(field: number, length: number): Uint8Array {
  const out: number[] = [];
  for (let v = (field << 3) | 2; ; v >>>= 7) {
    if (v < 0x80) {
      out.push(v);
      break;
    }
    out.push((v & 0x7f) | 0x80);
  }
  for (let v = length; ; v = Math.floor(v / 128)) {
    if (v < 0x80) {
      out.push(v);
      break;
    }
    out.push((v % 128) | 0x80);
  }
  return Uint8Array.from(out);
}

/**
 * The model's bytes for onnxruntime. Equivalent to encodeModel, but large weights are appended
 * as they are instead of going through protobufjs's writer, which shifts every nested message
 * (hundreds of MB for a CLIP tower) and took 8-11 s per tower here against a fraction of a
 * second for the copy. Protobuf readers accept fields in any order, so the graph's large
 * initializers come last and raw_data last in each; use encodeModel for files written for users.
 */
export function encodeModelForSession(model: ModelProto): Uint8Array {
  const t = types();
  const graph = model.graph;
  const large = new Set((graph?.initializer ?? []).filter((x) => (x.raw_data?.length ?? 0) >= LARGE_WEIGHT_BYTES));
  if (!graph || !large.size) return encodeModel(model);
  const chunks: Uint8Array[] = [
    t.graph.encode({ ...graph, initializer: graph.initializer!.filter((x) => !large.has(x)) } as unknown as protobuf.Message).finish(),
  ];
  const rawField = t.tensor.fields.raw_data.id;
  for (const tensor of large) {
    const raw = tensor.raw_data!;
    const head = t.tensor.encode({ ...tensor, raw_data: undefined } as unknown as protobuf.Message).finish();
    const rawHeader = delimitedHeader(rawField, raw.length);
    chunks.push(delimitedHeader(t.graph.fields.initializer.id, head.length + rawHeader.length + raw.length), head, rawHeader, raw);
  }
  const graphLength = chunks.reduce((n, c) => n + c.length, 0);
  const rest = t.model.encode({ ...model, graph: undefined } as unknown as protobuf.Message).finish();
  return Buffer.concat([rest, delimitedHeader(t.model.fields.graph.id, graphLength), ...chunks]);
}
