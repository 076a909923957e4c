// One CLIP tower from one ONNX file: which inputs it is fed and which tensor holds its
// embeddings, checked before any work. A file holding both towers (optimum's model.onnx) is cut
// down to the part that computes the wanted embeddings, so each tower runs with only its own
// inputs; an output L2-normalised in the file is read before the normalisation.
import * as ort from 'onnxruntime-node';
import { InputError } from '../../shared/errors';
import { ElemType } from '../onnx/feeds';
import { findL2Normalization } from '../onnx/l2Normalization';
import { inlineExternalData, readOnnxModel, type LoadedModel } from '../onnx/model';
import { encodeModelForSession, type ModelProto, type NodeProto } from '../onnx/proto';
import { describeTensors, graphSignature, type TensorSignature } from '../onnx/signature';
import { extractSubgraph } from '../onnx/subgraph';
import { createSession, type SessionOptions } from '../onnxSession';
import { CLIP_NAME_CANDIDATES as C, pickTensor, SLOTS, type ClipNames } from './ioNames';

export type TowerRole = 'text' | 'vision';

export interface TowerPlan {
  role: TowerRole;
  file: string;
  /** text: ids and maybe mask; vision: pixels */
  ids?: TensorSignature;
  mask?: TensorSignature;
  pixels?: TensorSignature;
  /** the graph output that holds the embeddings */
  output: TensorSignature;
  /** the tensor actually read: the output, or the tensor it L2-normalises */
  read: { name: string; elemType: number };
  /** the graph to run when it is not the file as it is */
  cut?: ModelProto;
  /** what was changed and why, for the run log */
  notes: string[];
}

const ROLE_FIX: Record<TowerRole, string> = {
  text: 'Point models.clip.textModel at the text tower (e.g. onnx/text_model.onnx) or models.clip.model at a file holding both towers, or name its token id input in models.clip.names.inputIds.',
  vision:
    'Point models.clip.visionModel at the vision tower (e.g. onnx/vision_model.onnx) or models.clip.model at a file holding both towers, or name its pixel input in models.clip.names.pixelValues.',
};

function notATower(file: string, role: TowerRole, inputs: TensorSignature[]): InputError {
  const needs = role === 'text' ? SLOTS.inputIds.expected : SLOTS.pixelValues.expected;
  return new InputError(
    `${file}: not a CLIP ${role} model: its inputs are ${describeTensors(inputs)}, but a ${role} tower takes ${needs}. ${ROLE_FIX[role]}`,
  );
}

/** Decides how to run `role` from the file's graph, or says clearly why the file cannot serve. */
export function planTower(loaded: LoadedModel, role: TowerRole, names: ClipNames, file: string): TowerPlan {
  const { model, graph } = loaded;
  const sig = graphSignature(graph);
  const notes: string[] = [];
  let ids: TensorSignature | undefined;
  let mask: TensorSignature | undefined;
  let pixels: TensorSignature | undefined;
  if (role === 'text') {
    ids = pickTensor(sig.inputs, SLOTS.inputIds, names.inputIds, C.inputIds, file);
    if (!ids) throw notATower(file, role, sig.inputs);
    const others = sig.inputs.filter((t) => t !== ids);
    mask = names.attentionMask
      ? pickTensor(others, SLOTS.attentionMask, names.attentionMask, C.attentionMask, file)
      : others.find((t) => (C.attentionMask as readonly string[]).includes(t.name) && SLOTS.attentionMask.fits(t));
  } else {
    pixels = pickTensor(sig.inputs, SLOTS.pixelValues, names.pixelValues, C.pixelValues, file);
    if (!pixels) throw notATower(file, role, sig.inputs);
  }
  const slot = role === 'text' ? SLOTS.textEmbeds : SLOTS.imageEmbeds;
  const output = pickTensor(
    sig.outputs,
    slot,
    role === 'text' ? names.textEmbeds : names.imageEmbeds,
    role === 'text' ? C.textEmbeds : C.imageEmbeds,
    file,
  );
  if (!output)
    throw new InputError(
      `${file}: no ${slot.what}: its outputs are ${describeTensors(sig.outputs)}, but a CLIP ${role} tower returns ${slot.expected}. Name it in models.clip.names.${slot.setting}.`,
    );

  let read = { name: output.name, elemType: output.elemType };
  const extraNodes: NodeProto[] = [];
  const norm = findL2Normalization(graph, output.name);
  if (norm) {
    read = { name: norm.input, elemType: output.elemType };
    // A float16 model that casts its outputs to float32 gets the same casts on the raw tensor.
    for (const [i, to] of norm.casts.entries()) {
      const from = read.name;
      read = { name: `${output.name}_unnormalized_${i}`, elemType: to };
      extraNodes.push({ op_type: 'Cast', input: [from], output: [read.name], attribute: [{ name: 'to', type: 2, i: to }] });
    }
    notes.push(
      `${file}: ${output.name} is L2-normalised in the file; reading the projection before the normalisation (${norm.input}), as the split towers return it`,
    );
  }
  const own = new Set([ids, mask, pixels].filter(Boolean));
  const foreign = sig.inputs.filter((t) => !own.has(t));
  let cut: ModelProto | undefined;
  if (norm || foreign.length) {
    cut = extractSubgraph({ ...model, graph: { ...graph, node: [...(graph.node ?? []), ...extraNodes] } }, [read]);
    const needed = new Set(graphSignature(cut.graph!).inputs.map((t) => t.name));
    const missing = foreign.filter((t) => needed.has(t.name));
    if (missing.length)
      throw new InputError(
        `${file}: the ${role} embeddings ${output.name} also need ${describeTensors(missing)}, which a CLIP ${role} tower is not fed. ${ROLE_FIX[role]}`,
      );
    if (mask && !needed.has(mask.name)) mask = undefined;
    if (foreign.length)
      notes.push(
        `${file}: holds more than the ${role} tower (also ${foreign.map((t) => t.name).join(', ')}); running only the part that computes ${output.name}`,
      );
  }
  const half = [pixels, read].filter((t) => t?.elemType === ElemType.FLOAT16).map((t) => t!.name);
  if (half.length) notes.push(`${file}: ${half.join(' and ')} in float16, converted from and to float32`);
  return { role, file, ids, mask, pixels, output, read, cut, notes };
}

export interface OpenedTower {
  plan: Omit<TowerPlan, 'cut'>;
  session: ort.InferenceSession;
}

export function towerRole(role: TowerRole): { what: string; fix: string } {
  return { what: `CLIP ${role} model`, fix: ROLE_FIX[role] };
}

/** Plans and opens the tower; `loaded` lets two towers share one decoded file. */
export async function openTower(
  file: string,
  role: TowerRole,
  names: ClipNames,
  opts: SessionOptions,
  loaded?: LoadedModel,
): Promise<OpenedTower> {
  const model = loaded ?? (await readOnnxModel(file, towerRole(role), false));
  const { cut, ...plan } = planTower(model, role, names, file);
  if (!cut) return { plan, session: await createSession(file, file, opts) };
  await inlineExternalData(file, cut.graph!);
  // The cut graph is not kept: it holds the file's weights, which the session has copied.
  return { plan, session: await createSession(encodeModelForSession(cut), file, opts) };
}
