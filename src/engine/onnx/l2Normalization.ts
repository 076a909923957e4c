// Finding a final L2 normalisation `x / ||x||` in front of a graph output. CLIPModel exports
// (one file, both towers) return unit-length text_embeds and image_embeds, while the split
// towers return the projections themselves; TLDR works on the raw projections (the reference's
// encode_text / encode_image), so the engine reads `x` instead.
import { int64, type GraphProto, type NodeProto } from './proto';

/** Ops that may sit between x and its norm: Pow/ReduceSum/Sqrt (transformers), ReduceL2 (torch .norm()), eps clamps, casts. */
const NORM_OPS = new Set([
  'Pow',
  'Mul',
  'ReduceSum',
  'ReduceSumSquare',
  'ReduceL2',
  'Sqrt',
  'Clip',
  'Max',
  'Add',
  'Expand',
  'Unsqueeze',
  'Cast',
  'Identity',
]);

export interface Unnormalized {
  /** the tensor that is divided by its norm */
  input: string;
  /** `to` of the Cast nodes between the division and the output (float16 models that cast outputs back to float32) */
  casts: number[];
}

export function findL2Normalization(graph: GraphProto, output: string): Unnormalized | undefined {
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const constants = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  for (const n of graph.node ?? []) if (n.op_type === 'Constant') for (const o of n.output ?? []) constants.add(o);

  const casts: number[] = [];
  let node = producer.get(output);
  while (node && (node.op_type === 'Identity' || node.op_type === 'Cast')) {
    if (node.op_type === 'Cast') casts.unshift(int64(node.attribute?.find((a) => a.name === 'to')?.i));
    node = producer.get(node.input?.[0] ?? '');
  }
  if (!node || node.op_type !== 'Div' || node.domain) return undefined;
  const [x, norm] = node.input ?? [];
  if (!x || !norm) return undefined;

  // The divisor must be computed from x alone (and constants) through norm-like ops, and reach x.
  const memo = new Map<string, 'x' | 'const' | 'other'>();
  const origin = (name: string): 'x' | 'const' | 'other' => {
    if (name === x) return 'x';
    if (constants.has(name)) return 'const';
    const cached = memo.get(name);
    if (cached) return cached;
    memo.set(name, 'other'); // cycles cannot happen in a valid graph; this also stops a bad one
    const p = producer.get(name);
    let result: 'x' | 'const' | 'other' = 'other';
    if (p && !p.domain && NORM_OPS.has(p.op_type ?? '')) {
      const kinds = (p.input ?? []).filter(Boolean).map(origin);
      if (!kinds.includes('other')) result = kinds.includes('x') ? 'x' : 'const';
    }
    memo.set(name, result);
    return result;
  };
  return origin(norm) === 'x' ? { input: x, casts } : undefined;
}
