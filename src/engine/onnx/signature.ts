// A graph's inputs and outputs as the user sees them (name, element type, shape), read from
// the protobuf: what the model checks compare against and what their messages print.
import { int64, type GraphProto, type ValueInfoProto } from './proto';
import { dataTypeName } from './tensor';

/** A dimension: a number, a symbolic name, or null when the file does not say. */
export type Dim = number | string | null;

export interface TensorSignature {
  name: string;
  /** ONNX TensorProto.DataType (1 float32, 7 int64, 10 float16, ...); 0 when not a tensor or unknown */
  elemType: number;
  shape: Dim[];
}

export interface GraphSignature {
  /** the inputs the caller must feed (initializers listed as inputs by older exporters are left out) */
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

function tensorSignature(v: ValueInfoProto): TensorSignature {
  const t = v.type?.tensor_type;
  return {
    name: v.name ?? '',
    elemType: t?.elem_type ?? 0,
    shape: (t?.shape?.dim ?? []).map((d) =>
      d.dim_param ? d.dim_param : d.dim_value !== undefined && d.dim_value !== null ? int64(d.dim_value) : null,
    ),
  };
}

export function graphSignature(graph: GraphProto): GraphSignature {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  return {
    inputs: (graph.input ?? []).filter((v) => !inits.has(v.name)).map(tensorSignature),
    outputs: (graph.output ?? []).map(tensorSignature),
  };
}

/** `pixel_values float32 [batch, 3, 224, 224]` */
export function describeTensor(t: TensorSignature): string {
  return `${t.name} ${t.elemType ? dataTypeName(t.elemType) : 'non-tensor'} [${t.shape.map((d) => d ?? '?').join(', ')}]`;
}

export function describeTensors(ts: TensorSignature[]): string {
  return ts.length ? ts.map(describeTensor).join('; ') : 'none';
}
