// The user's classifier as ONE ONNX file: find its final linear layer, read W and b, expose the
// layer's input (the features) as an extra output for one-pass inference, and write the model
// back with a new W and b. Pure protobuf surgery; nothing here runs the model.
import * as path from 'node:path';
import { InputError } from '../../shared/errors';
import { writeFileAtomic } from '../../shared/atomicWrite';
import { classifierImageInput, type ImageInput } from './classifierInput';
import { isFloatType } from './feeds';
import { readOnnxModel, subgraphs, type LoadedModel, type ModelRole } from './model';
import {
  AttributeProto,
  encodeModel,
  encodeModelForSession,
  GraphProto,
  int64,
  newTensor,
  NodeProto,
  TensorProto,
  ValueInfoProto,
} from './proto';
import { graphSignature } from './signature';
import { dataTypeName, FLOAT_TYPES, readFloatTensor, tensorDims, writeFloatTensor } from './tensor';

export interface ClassifierOptions {
  /** Name of the logits graph output (or of a Softmax of them); default: the first output. */
  logits?: string;
  /** Name of the image input; default: the only input. */
  input?: string;
}

/** Where W and b live in the graph, as needed to write them back. */
export interface LinearLayer {
  op: 'Gemm' | 'MatMul+Add';
  /** Gemm: the Gemm node; MatMul+Add: the MatMul node. */
  nodeName: string;
  /** Add node of MatMul+Add. */
  addNodeName?: string;
  /** Gemm only: 1 when the weight is stored [C, D], 0 when [D, C] (MatMul is always [D, C]). */
  transB?: 0 | 1;
  /** Gemm only, already folded into weight and bias. */
  alpha?: number;
  beta?: number;
  weightInitializer: string;
  /** Absent for a Gemm without C (zero bias). */
  biasInitializer?: string;
}

export interface ClassifierInfo {
  modelPath: string;
  /** The first graph input that is not an initializer; dims are numbers, symbolic names, or null when unknown. */
  imageInput: ImageInput;
  /** The graph output read as the logits. */
  outputName: string;
  /** The logits: the final linear layer's output (the output itself, or the input of a final Softmax). */
  logitsName: string;
  /** The final linear layer's input tensor. */
  featuresName: string;
  numClasses: number;
  featureDim: number;
  /** What was read differently from a plain linear head, and why (a final Softmax, several outputs), for the run log. */
  notes: string[];
  /** Effective weight [numClasses, featureDim] row-major, Gemm alpha folded in: logits = features · Wᵀ + b. */
  weight: Float64Array;
  /** Effective bias [numClasses], Gemm beta folded in. */
  bias: Float64Array;
  layer: LinearLayer;
}

export interface PreparedClassifier extends ClassifierInfo {
  /** The model with external data inlined and featuresName as an extra graph output (after the original outputs). */
  modelBytes: Uint8Array;
}

const CLASSIFIER: ModelRole = {
  what: 'classifier model',
  fix: 'Point models.classifier.path at the .onnx file of your whole classifier (exported e.g. with torch.onnx.export).',
};

const loadModel = (modelPath: string): Promise<LoadedModel> => readOnnxModel(modelPath, CLASSIFIER);

function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

function describe(node: NodeProto): string {
  return node.name ? `${node.op_type} node "${node.name}"` : `${node.op_type} node`;
}

interface Found {
  info: Omit<ClassifierInfo, 'modelPath' | 'imageInput'>;
  node: NodeProto;
  addNode?: NodeProto;
  /** Index of the weight / bias among the linear node's inputs (bias: on addNode for MatMul+Add). */
  weightInput: number;
  biasInput?: number;
  weightTensor: TensorProto;
  biasTensor?: TensorProto;
}

function findLinearLayer(modelPath: string, graph: GraphProto, opts: ClassifierOptions): Found {
  const outputs = (graph.output ?? []).map((o) => o.name ?? '');
  const outputName = opts.logits ?? outputs[0];
  const notes: string[] = [];
  if (!opts.logits && outputs.length > 1)
    notes.push(
      `${modelPath}: the classifier has ${outputs.length} outputs; using the first, "${outputName}" (models.classifier.logits names another)`,
    );
  if (!outputs.includes(outputName)) {
    throw new InputError(
      `${modelPath} has no output named "${opts.logits}"; its outputs are ${outputs.map((o) => `"${o}"`).join(', ')}. Set the logits output name to one of them.`,
    );
  }
  const nodes = graph.node ?? [];
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const inits = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) inits.set(t.name ?? '', t);
  const inputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));

  const noLayer = (why: string) =>
    new InputError(
      `${modelPath}: no final linear layer found: ${why}. TLDR retrains the classifier's last linear layer, so the logits output must come from a Gemm (e.g. PyTorch nn.Linear) or MatMul + Add with constant weights. Export the model so that it ends in its linear layer (a final Softmax is fine, no other ops after it), or name the logits output if it is not the first.`,
    );

  // Identity ops between the layer and the output change nothing.
  const throughIdentity = (start: string): [string, NodeProto | undefined] => {
    let name = start;
    let node = producer.get(name);
    const seen = new Set<NodeProto>();
    while (node && node.op_type === 'Identity' && !seen.has(node)) {
      seen.add(node);
      name = node.input?.[0] ?? '';
      node = producer.get(name);
    }
    return [name, node];
  };
  let [, node] = throughIdentity(outputName);
  let logitsName = outputName;
  if (node && !node.domain && (node.op_type === 'Softmax' || node.op_type === 'LogSoftmax')) {
    // Probabilities out: the logits are the Softmax's input. Over the class axis only (1 or -1 on [batch, C]).
    const axis = attr(node, 'axis')?.i;
    if (axis !== undefined && ![1, -1].includes(int64(axis)))
      throw noLayer(`output "${outputName}" is a ${describe(node)} over axis ${int64(axis)}, not over the classes`);
    const op = node.op_type;
    logitsName = node.input?.[0] ?? '';
    [, node] = throughIdentity(logitsName);
    notes.push(
      `${modelPath}: output "${outputName}" is a ${op} of the final linear layer; TLDR reads the logits before it ("${logitsName}"), and the debiased model keeps the ${op}`,
    );
  }
  if (!node) throw noLayer(`output "${outputName}" is not computed by any node`);

  const constant = (input: string, role: string, of: NodeProto): TensorProto => {
    const t = inits.get(input);
    if (!t) {
      const src = producer.get(input);
      const what = src ? `computed by a ${describe(src)}` : inputs.has(input) ? 'a graph input' : 'not defined in the graph';
      throw noLayer(
        `the ${role} "${input}" of the ${describe(of)} is ${what}, not a constant initializer (export with constant folding, e.g. torch.onnx.export(..., do_constant_folding=True))`,
      );
    }
    if (!FLOAT_TYPES.has(t.data_type ?? 0))
      throw noLayer(
        `the ${role} "${input}" of the ${describe(of)} is ${dataTypeName(t.data_type)}, not float32, float16 or float64 (quantized layers are not supported)`,
      );
    return t;
  };
  const read = (t: TensorProto): Float64Array => {
    try {
      return readFloatTensor(t);
    } catch (err) {
      throw new InputError(
        `${modelPath}: cannot read the weights of its final linear layer: ${(err as Error).message}. The model file looks damaged; re-export it.`,
      );
    }
  };

  if (node.op_type === 'Gemm' && !node.domain) {
    const transA = int64(attr(node, 'transA')?.i);
    if (transA !== 0) throw noLayer(`the ${describe(node)} has transA=${transA}; only transA=0 (features as rows) is supported`);
    const transB = int64(attr(node, 'transB')?.i) ? 1 : 0;
    const alpha = attr(node, 'alpha')?.f ?? 1;
    const beta = attr(node, 'beta')?.f ?? 1;
    const [featuresName, bName, cName] = node.input ?? [];
    const wT = constant(bName, 'weight', node);
    const dims = tensorDims(wT);
    if (dims.length !== 2) throw noLayer(`the weight "${bName}" of the ${describe(node)} has shape [${dims.join(', ')}], not 2-D`);
    const [C, D] = transB ? dims : [dims[1], dims[0]];
    const raw = read(wT);
    const weight = new Float64Array(C * D);
    for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) weight[c * D + d] = alpha * (transB ? raw[c * D + d] : raw[d * C + c]);
    let bias: Float64Array = new Float64Array(C);
    let biasTensor: TensorProto | undefined;
    if (cName) {
      biasTensor = constant(cName, 'bias', node);
      bias = broadcastBias(read(biasTensor), C, beta, () =>
        noLayer(`the bias "${cName}" of the ${describe(node)} has shape [${tensorDims(biasTensor!).join(', ')}], not [${C}] or [1, ${C}]`),
      );
    }
    return {
      info: {
        outputName,
        logitsName,
        notes,
        featuresName,
        numClasses: C,
        featureDim: D,
        weight,
        bias,
        layer: {
          op: 'Gemm',
          nodeName: node.name ?? '',
          transB,
          alpha,
          beta,
          weightInitializer: bName,
          biasInitializer: cName || undefined,
        },
      },
      node,
      weightInput: 1,
      biasInput: cName ? 2 : undefined,
      weightTensor: wT,
      biasTensor,
    };
  }

  if (node.op_type === 'Add' && !node.domain) {
    const ins = node.input ?? [];
    const mmIndex = ins.findIndex((i) => producer.get(i)?.op_type === 'MatMul');
    if (mmIndex < 0 || ins.length !== 2)
      throw noLayer(`output "${outputName}" comes from an ${describe(node)} whose inputs do not include a MatMul`);
    const mm = producer.get(ins[mmIndex])!;
    const biasInput = 1 - mmIndex;
    const [featuresName, wName] = mm.input ?? [];
    const wT = constant(wName, 'weight', mm);
    const dims = tensorDims(wT);
    if (dims.length !== 2)
      throw noLayer(`the weight "${wName}" of the ${describe(mm)} has shape [${dims.join(', ')}], not [features, classes]`);
    const [D, C] = dims;
    const raw = read(wT);
    const weight = new Float64Array(C * D);
    for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) weight[c * D + d] = raw[d * C + c];
    const biasTensor = constant(ins[biasInput], 'bias', node);
    const bias = broadcastBias(read(biasTensor), C, 1, () =>
      noLayer(
        `the bias "${ins[biasInput]}" of the ${describe(node)} has shape [${tensorDims(biasTensor).join(', ')}], not [${C}] or [1, ${C}]`,
      ),
    );
    return {
      info: {
        outputName,
        logitsName,
        notes,
        featuresName,
        numClasses: C,
        featureDim: D,
        weight,
        bias,
        layer: {
          op: 'MatMul+Add',
          nodeName: mm.name ?? '',
          addNodeName: node.name ?? '',
          weightInitializer: wName,
          biasInitializer: ins[biasInput],
        },
      },
      node: mm,
      addNode: node,
      weightInput: 1,
      biasInput,
      weightTensor: wT,
      biasTensor,
    };
  }

  // A MatMul with no bias is how CLIP towers end (the projection): say so, it is a common mix-up.
  const clipLike =
    node.op_type === 'MatMul' ? ' with no bias after it, as at the end of a CLIP tower (CLIP models belong in models.clip)' : '';
  throw noLayer(`output "${outputName}" is computed by a ${describe(node)}${clipLike}`);
}

function broadcastBias(values: Float64Array, C: number, beta: number, bad: () => Error): Float64Array {
  const out = new Float64Array(C);
  if (values.length === C) for (let c = 0; c < C; c++) out[c] = beta * values[c];
  else if (values.length === 1) out.fill(beta * values[0]);
  else throw bad();
  return out;
}

/**
 * The image input and the final layer, or the clearer of the two errors: with one image-like
 * input what is wrong is the head (e.g. a weight exported as an input); without one, the file
 * is not an image classifier at all (e.g. a CLIP text tower).
 */
function inspectGraph(modelPath: string, graph: GraphProto, opts: ClassifierOptions): { imageInput: ImageInput; found: Found } {
  let found: Found | undefined;
  let layerError: unknown;
  try {
    found = findLinearLayer(modelPath, graph, opts);
  } catch (err) {
    layerError = err;
  }
  const imageLike = graphSignature(graph).inputs.filter((t) => isFloatType(t.elemType) && t.shape.length === 4).length === 1;
  if (layerError && imageLike) throw layerError;
  const imageInput = classifierImageInput(graph, modelPath, opts.input);
  if (layerError) throw layerError;
  return { imageInput, found: found! };
}

/** Reads the classifier's final linear layer (W, b, feature tensor) without building an inference model. */
export async function inspectClassifier(modelPath: string, opts: ClassifierOptions = {}): Promise<ClassifierInfo> {
  const { graph } = await loadModel(modelPath);
  const { imageInput, found } = inspectGraph(modelPath, graph, opts);
  return { modelPath, imageInput, ...found.info };
}

/** inspectClassifier plus the model bytes for onnxruntime, with the features as an extra output. */
export async function prepareClassifier(modelPath: string, opts: ClassifierOptions = {}): Promise<PreparedClassifier> {
  const { model, graph } = await loadModel(modelPath);
  const { imageInput, found } = inspectGraph(modelPath, graph, opts);
  // The features, and the logits when a Softmax follows them, as extra outputs.
  for (const name of [found.info.featuresName, found.info.logitsName]) {
    if ((graph.output ?? []).some((o) => o.name === name)) continue;
    const known = [...(graph.value_info ?? []), ...(graph.input ?? [])].find((v) => v.name === name);
    const output: ValueInfoProto = known ?? { name, type: { tensor_type: { elem_type: found.weightTensor.data_type } } };
    graph.output = [...(graph.output ?? []), output];
  }
  const modelBytes = encodeModelForSession(model);
  return { modelPath, imageInput, ...found.info, modelBytes };
}

function uniqueName(graph: GraphProto, base: string): string {
  const taken = new Set<string>();
  for (const g of subgraphs(graph)) {
    for (const t of g.initializer ?? []) taken.add(t.name ?? '');
    for (const n of g.node ?? []) for (const o of n.output ?? []) taken.add(o);
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])]) taken.add(v.name ?? '');
  }
  let name = `${base}_debiased`;
  for (let i = 2; taken.has(name); i++) name = `${base}_debiased_${i}`;
  return name;
}

/** How many places besides `except` read the tensor `name` (nodes in any subgraph, graph outputs). */
function otherUses(graph: GraphProto, name: string, except: NodeProto): number {
  let count = 0;
  for (const g of subgraphs(graph)) for (const n of g.node ?? []) if (n !== except) for (const i of n.input ?? []) if (i === name) count++;
  for (const o of graph.output ?? []) if (o.name === name) count++;
  // A shared name can also be fed twice by the same node (e.g. Add(b, b)); treat as shared.
  if ((except.input ?? []).filter((i) => i === name).length > 1) count++;
  return count;
}

/**
 * Returns the tensor to overwrite for `node.input[index]`: the original initializer when only this
 * node reads it, else a fresh copy under a new name (so other readers keep the old values).
 */
function ownTensor(graph: GraphProto, node: NodeProto, index: number, original: TensorProto): TensorProto {
  const name = node.input![index];
  if (otherUses(graph, name, node) === 0) return original;
  const fresh = newTensor({ name: uniqueName(graph, name), data_type: original.data_type, dims: original.dims });
  graph.initializer!.push(fresh);
  const asInput = (graph.input ?? []).find((i) => i.name === name);
  if (asInput) graph.input!.push({ name: fresh.name, type: asInput.type });
  node.input![index] = fresh.name!;
  return fresh;
}

/**
 * Writes the classifier from modelPath with a new final layer (weight [C, D] row-major, bias [C])
 * to outPath, atomically. The result is self-contained (external data inlined); modelPath and
 * its data files are only read.
 */
export async function exportDebiased(
  modelPath: string,
  outPath: string,
  weight: Float32Array | Float64Array,
  bias: Float32Array | Float64Array,
  opts: ClassifierOptions = {},
): Promise<void> {
  if (path.resolve(outPath) === path.resolve(modelPath)) {
    throw new InputError(`Refusing to overwrite the classifier ${modelPath} with its debiased version; choose another output file.`);
  }
  const { model, graph } = await loadModel(modelPath);
  const found = findLinearLayer(modelPath, graph, opts);
  const { numClasses: C, featureDim: D, layer } = found.info;
  if (weight.length !== C * D || bias.length !== C) {
    throw new Error(
      `exportDebiased: the model's final layer is [${C}, ${D}] but got a weight of ${weight.length} values and a bias of ${bias.length}`,
    );
  }

  // Stored layout: Gemm transB=1 keeps [C, D]; Gemm transB=0 and MatMul keep [D, C].
  const storedCD = layer.op === 'Gemm' && layer.transB === 1;
  const stored = new Float64Array(C * D);
  for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) stored[storedCD ? c * D + d : d * C + c] = weight[c * D + d];
  const wTensor = ownTensor(graph, found.node, found.weightInput, found.weightTensor);
  writeFloatTensor(wTensor, stored, storedCD ? [C, D] : [D, C]);

  const biasNode = found.addNode ?? found.node;
  if (found.biasTensor && found.biasInput !== undefined) {
    const bTensor = ownTensor(graph, biasNode, found.biasInput, found.biasTensor);
    // Keep a [1, C] bias [1, C]; a broadcast scalar bias becomes [C].
    const dims = tensorDims(found.biasTensor);
    writeFloatTensor(bTensor, bias, dims.length === 2 && dims[1] === C ? dims : [C]);
  } else {
    // Gemm without C: add one.
    const bTensor = newTensor({ name: uniqueName(graph, `${layer.weightInitializer}_bias`), data_type: found.weightTensor.data_type });
    writeFloatTensor(bTensor, bias, [C]);
    graph.initializer!.push(bTensor);
    const ins = found.node.input!;
    while (ins.length < 2) ins.push('');
    ins[2] = bTensor.name!;
  }
  if (layer.op === 'Gemm') {
    // alpha and beta are folded into the values just written; drop them (both default to 1).
    found.node.attribute = (found.node.attribute ?? []).filter((a) => a.name !== 'alpha' && a.name !== 'beta');
  }
  await writeFileAtomic(outPath, encodeModel(model));
}
