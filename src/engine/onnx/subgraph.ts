// Cutting the part of a graph that computes some tensors: the nodes they depend on, the
// initializers and inputs those nodes read, and the tensors as the only outputs. One tower of
// a two-tower CLIP file then runs with only its own inputs fed.
import { subgraphs } from './model';
import type { GraphProto, ModelProto, NodeProto, ValueInfoProto } from './proto';

export interface WantedOutput {
  name: string;
  /** element type for the output's declaration when the graph has no type for the tensor */
  elemType: number;
}

/** Names a node reads, including outer-scope names read inside its If/Loop/Scan bodies. */
function reads(node: NodeProto): string[] {
  const names = (node.input ?? []).filter(Boolean);
  for (const attr of node.attribute ?? []) {
    for (const body of [attr.g, ...(attr.graphs ?? [])]) {
      if (!body) continue;
      for (const g of subgraphs(body)) for (const n of g.node ?? []) names.push(...(n.input ?? []).filter(Boolean));
    }
  }
  return names;
}

/** A new model (sharing the original's tensors, which are not modified) whose graph computes only `outputs`. */
export function extractSubgraph(model: ModelProto, outputs: WantedOutput[]): ModelProto {
  const graph = model.graph!;
  const needed = new Set(outputs.map((o) => o.name));
  const keep = new Set<NodeProto>();
  const nodes = graph.node ?? [];
  // ONNX nodes are topologically sorted: one backward pass finds every ancestor.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    keep.add(node);
    for (const name of reads(node)) needed.add(name);
  }
  const declared = new Map<string, ValueInfoProto>();
  for (const v of [...(graph.value_info ?? []), ...(graph.output ?? [])]) declared.set(v.name ?? '', v);
  const sub: GraphProto = {
    ...graph,
    node: nodes.filter((n) => keep.has(n)),
    initializer: (graph.initializer ?? []).filter((t) => needed.has(t.name ?? '')),
    sparse_initializer: (graph.sparse_initializer ?? []).filter((t) => needed.has(t.values?.name ?? '')),
    input: (graph.input ?? []).filter((v) => needed.has(v.name ?? '')),
    value_info: (graph.value_info ?? []).filter((v) => needed.has(v.name ?? '')),
    output: outputs.map((o) => declared.get(o.name) ?? { name: o.name, type: { tensor_type: { elem_type: o.elemType } } }),
  };
  return { ...model, graph: sub };
}
