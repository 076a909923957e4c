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

let cached: { model: protobuf.Type; tensor: protobuf.Type } | undefined;

function types(): { model: protobuf.Type; tensor: protobuf.Type } {
  if (!cached) {
    // keepCase: use the schema's snake_case names (raw_data, op_type), as the ONNX docs do.
    const root = protobuf.parse(ONNX_PROTO_TEXT, { keepCase: true }).root;
    cached = { model: root.lookupType('onnx.ModelProto'), tensor: root.lookupType('onnx.TensorProto') };
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
