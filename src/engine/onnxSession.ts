// One place that creates onnxruntime sessions, so thread and provider settings agree.
import * as ort from 'onnxruntime-node';
import { InputError } from '../shared/errors';

export interface SessionOptions {
  executionProvider?: string;
  /** onnxruntime's intra-op threads; default: onnxruntime's own choice (the cores it sees) */
  threads?: number;
}

export async function createSession(model: string | Uint8Array, label: string, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(model as never, {
      executionProviders: [opts.executionProvider ?? 'cpu'],
      graphOptimizationLevel: 'all',
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    });
  } catch (err) {
    throw new InputError(
      `${label}: onnxruntime cannot load this model (${(err as Error).message.split('\n')[0]}). Check that it is a valid ONNX file exported with opset <= 21.`,
    );
  }
}

export const ortVersion = (): string => ort.env.versions?.common ?? 'unknown';
