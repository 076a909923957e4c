// Reading a user's ONNX file into a ModelProto: clear errors for missing, foreign or damaged
// files, and external-data weights loaded into the model so it can be edited, run from bytes
// and saved self-contained. Shared by the classifier and the CLIP towers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../shared/errors';
import { DataLocation, decodeModel, int64, type GraphProto, type ModelProto } from './proto';

// protobuf cannot encode a message of 2 GiB or more, nor can onnxruntime load one from bytes.
const MAX_MODEL_BYTES = 2 ** 31 - 1;

export interface LoadedModel {
  model: ModelProto;
  graph: GraphProto;
}

/** Which model a file is meant to be, for error messages. */
export interface ModelRole {
  /** e.g. "classifier model", "CLIP text model" */
  what: string;
  /** the sentence that tells the user which setting points at the file */
  fix: string;
}

/**
 * Decodes the file. External-data weights are loaded into the model unless `inline` is false
 * (enough to read the graph's structure; call inlineExternalData before running or saving it).
 */
export async function readOnnxModel(modelPath: string, role: ModelRole, inline = true): Promise<LoadedModel> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(modelPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EISDIR'
          ? 'it is a folder, not a file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : (err as Error).message;
    throw new InputError(`Cannot read the ${role.what} ${modelPath}: ${why}. ${role.fix}`);
  }
  const notOnnx = `${modelPath} is not an ONNX model (it does not parse as an ONNX ModelProto with a graph). ${role.fix}`;
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch {
    throw new InputError(notOnnx);
  }
  // Random bytes sometimes decode without error; a real model has an IR version and graph nodes.
  const graph = model.graph;
  if (int64(model.ir_version) <= 0 || !graph || !graph.node?.length || !graph.output?.length) throw new InputError(notOnnx);
  if (inline) await inlineExternalData(modelPath, graph);
  return { model, graph };
}

export function* subgraphs(graph: GraphProto): Generator<GraphProto> {
  yield graph;
  for (const node of graph.node ?? []) {
    for (const attr of node.attribute ?? []) {
      if (attr.g) yield* subgraphs(attr.g);
      for (const g of attr.graphs ?? []) yield* subgraphs(g);
    }
  }
}

/** Loads every external-data tensor into raw_data so the model can be used (and saved) self-contained. */
export async function inlineExternalData(modelPath: string, graph: GraphProto): Promise<void> {
  const dir = path.dirname(path.resolve(modelPath));
  const files = new Map<string, Buffer>();
  let total = 0;
  for (const g of subgraphs(graph)) {
    for (const t of g.initializer ?? []) {
      if (t.data_location !== DataLocation.EXTERNAL) continue;
      const kv = new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
      const location = kv.get('location') ?? '';
      const file = path.resolve(dir, location);
      // Same rule as onnxruntime: data files live beside the model, never elsewhere.
      if (!location || path.isAbsolute(location) || path.relative(dir, file).startsWith('..')) {
        throw new InputError(
          `${modelPath}: tensor ${t.name} points to external data at "${location}", outside the model's folder. Keep the .data file beside the model and re-save it with a relative location.`,
        );
      }
      let data = files.get(file);
      if (!data) {
        try {
          data = await fs.promises.readFile(file);
        } catch {
          throw new InputError(
            `${modelPath}: its weights are stored in ${file}, which cannot be read. Keep the model's external data file(s) beside the .onnx file, under the name the model was saved with.`,
          );
        }
        files.set(file, data);
      }
      const offset = Number(kv.get('offset') ?? 0);
      const length = kv.has('length') ? Number(kv.get('length')) : data.length - offset;
      if (!(offset >= 0 && length >= 0 && offset + length <= data.length)) {
        throw new InputError(
          `${modelPath}: tensor ${t.name} needs bytes ${offset}..${offset + length} of ${file}, which has only ${data.length} bytes. The data file does not belong to this model or is truncated.`,
        );
      }
      total += length;
      if (total > MAX_MODEL_BYTES)
        throw new InputError(
          `${modelPath}: with its external data the model is over 2 GiB, which cannot be loaded in one piece. Use a smaller model.`,
        );
      t.raw_data = data.subarray(offset, offset + length);
      t.external_data = [];
      delete t.data_location;
    }
  }
}
