// Float64 matrix products through onnxruntime: a two-node graph built in memory and loaded from
// bytes. onnxruntime's double GEMM is vectorised and uses every intra-op thread, where the pure
// TypeScript kernels (matrix.ts) run scalar on one core; for the projector's X^T Y
// (N = 5000, d = 512, D = 2048) that is roughly ten times faster. Small problems stay in
// TypeScript: creating a session costs more than the product saves.
import * as ort from 'onnxruntime-node';
import { createSession, type ThreadChoice } from '../onnxSession';
import { encodeModel, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx/proto';

const DOUBLE = 11;

/** Multiply-adds below which the TypeScript kernels win (session creation is ~10-30 ms). */
export const ORT_MIN_MADDS = 5e7;

const value = (name: string, dims: string[]): ValueInfoProto => ({
  name,
  type: { tensor_type: { elem_type: DOUBLE, shape: { dim: dims.map((d) => ({ dim_param: d })) } } },
});

function model(nodes: NodeProto[], inputs: ValueInfoProto[], outputs: ValueInfoProto[]): Uint8Array {
  const m = {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'tldr-debias',
    graph: { name: 'linalg', node: nodes, input: inputs, output: outputs },
  };
  return encodeModel(m as ModelProto);
}

const transA = [{ name: 'transA', type: 2, i: 1 }];
const transB = [{ name: 'transB', type: 2, i: 1 }];

const GRAPHS = {
  /** X [n, d], Y [n, D] -> XtX = X^T X [d, d], XtY = X^T Y [d, D] */
  gram: () =>
    model(
      [
        { op_type: 'Gemm', input: ['X', 'X'], output: ['XtX'], attribute: transA },
        { op_type: 'Gemm', input: ['X', 'Y'], output: ['XtY'], attribute: transA },
      ],
      [value('X', ['n', 'd']), value('Y', ['n', 'D'])],
      [value('XtX', ['d', 'd']), value('XtY', ['d', 'D'])],
    ),
  /** Mt [d, d], B [d, D] -> S = Mt Mt^T [d, d], P = S B [d, D] (with Mt = L^{-T}: S = A^{-1}, P = A^{-1} B) */
  inverseTimes: () =>
    model(
      [
        { op_type: 'Gemm', input: ['Mt', 'Mt'], output: ['S'], attribute: transB },
        { op_type: 'MatMul', input: ['S', 'B'], output: ['P'] },
      ],
      [value('Mt', ['d', 'd']), value('B', ['d', 'D'])],
      [value('S', ['d', 'd']), value('P', ['d', 'D'])],
    ),
  /** X [n, d], W [d, D] -> XW = X W [n, D] */
  matmul: () =>
    model(
      [{ op_type: 'MatMul', input: ['X', 'W'], output: ['XW'] }],
      [value('X', ['n', 'd']), value('W', ['d', 'D'])],
      [value('XW', ['n', 'D'])],
    ),
};

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** One session per graph and thread count for the life of the process (the graphs hold no weights). */
function session(name: keyof typeof GRAPHS, threads?: ThreadChoice): Promise<ort.InferenceSession> {
  const key = `${name}/${threads ? (threads.intraOpThreads ?? 'default') : 'cores'}`;
  let s = sessions.get(key);
  if (!s) {
    s = createSession(GRAPHS[name](), `linear algebra (${name})`, { threads });
    s.catch(() => sessions.delete(key));
    sessions.set(key, s);
  }
  return s;
}

const f64 = (t: ort.Tensor): Float64Array => t.data as Float64Array;

/** X^T X (d x d) and X^T Y (d x D) for row-major X (n x d) and Y (n x D). */
export async function ortGram(
  X: Float64Array,
  Y: Float64Array,
  n: number,
  d: number,
  D: number,
  threads?: ThreadChoice,
): Promise<{ XtX: Float64Array; XtY: Float64Array }> {
  const s = await session('gram', threads);
  const out = await s.run({
    X: new ort.Tensor('float64', X.length === n * d ? X : X.subarray(0, n * d), [n, d]),
    Y: new ort.Tensor('float64', Y.length === n * D ? Y : Y.subarray(0, n * D), [n, D]),
  });
  return { XtX: f64(out.XtX), XtY: f64(out.XtY) };
}

/** S = Mt Mt^T (d x d) and S B (d x D) for row-major Mt (d x d) and B (d x D). */
export async function ortInverseTimes(
  Mt: Float64Array,
  B: Float64Array,
  d: number,
  D: number,
  threads?: ThreadChoice,
): Promise<{ S: Float64Array; P: Float64Array }> {
  const s = await session('inverseTimes', threads);
  const out = await s.run({ Mt: new ort.Tensor('float64', Mt, [d, d]), B: new ort.Tensor('float64', B, [d, D]) });
  return { S: f64(out.S), P: f64(out.P) };
}

/** Rows per call of ortRowsTimes: bounds the Float64 copies (rows x (d + D) x 8 bytes, 40 MB at d 512, D 2048). */
const ROWS_PER_CALL = 2048;

/**
 * E W as Float32 (m x D) for row-major E (m x d, Float32, widened to Float64 a block of rows at a
 * time) and W (d x D): the products in double, as the TypeScript kernel computes them.
 */
export async function ortRowsTimes(
  E: Float32Array,
  m: number,
  W: Float64Array,
  d: number,
  D: number,
  threads?: ThreadChoice,
): Promise<Float32Array> {
  const s = await session('matmul', threads);
  const w = new ort.Tensor('float64', W, [d, D]);
  const out = new Float32Array(m * D);
  for (let r0 = 0; r0 < m; r0 += ROWS_PER_CALL) {
    const n = Math.min(ROWS_PER_CALL, m - r0);
    const x = Float64Array.from(E.subarray(r0 * d, (r0 + n) * d));
    const r = await s.run({ X: new ort.Tensor('float64', x, [n, d]), W: w });
    out.set(f64(r.XW), r0 * D);
  }
  return out;
}
