// The host's side of the worker process: forks dist/worker.js on first use, streams a job's
// engine events (`$/progress` on the job's token) to its handler, cancels through the request's
// CancellationToken, and turns a dead worker into a rejected request (the next request starts a
// fresh worker). No 'vscode' import.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
  type CancellationToken,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import type { EngineEvent } from '../../protocol/events';
import { engineProgress, WorkerErrorCode, type JobParams } from '../../protocol/worker';
import { WORKER_EXIT_GRACE_MS } from '../timing';

export class WorkerDiedError extends Error {
  override name = 'WorkerDiedError';
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    /** the host stopped it on purpose (cancel that did not finish in time, dispose) */
    readonly expected: boolean,
  ) {
    super(`the TLDR worker process exited (${signal ?? `code ${code}`})`);
  }
}

export type WorkerLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** os.setPriority's niceness: 10 of 19, as build tools run in the background */
const WORKER_NICENESS = 10;

export class WorkerClient {
  private proc: ChildProcess | undefined;
  private conn: MessageConnection | undefined;
  private readonly pending = new Set<(err: Error) => void>();
  private killing = false;
  private disposed = false;

  constructor(
    private readonly workerPath: string,
    private readonly log: WorkerLog,
  ) {}

  private start(): MessageConnection {
    if (this.disposed) throw new Error('the TLDR extension is shutting down');
    const proc = fork(this.workerPath, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // no inspector flags from the extension host; run Electron's binary as plain Node
      execArgv: [],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    lowerPriority(proc.pid);
    const forward = (level: 'info' | 'warn') => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) if (line.trim()) this.log(level, `[worker] ${line}`);
    };
    proc.stdout?.on('data', forward('info'));
    proc.stderr?.on('data', forward('warn'));
    const conn = createMessageConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
    conn.listen();
    proc.on('error', (err) => this.log('error', `[worker] ${err.message}`));
    proc.on('exit', (code, signal) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.conn = undefined;
      conn.dispose();
      const err = new WorkerDiedError(code, signal, this.killing || this.disposed);
      this.killing = false;
      if (!err.expected) this.log('error', `${err.message}; a new worker starts with the next request`);
      for (const reject of this.pending) reject(err);
      this.pending.clear();
    });
    this.proc = proc;
    this.conn = conn;
    this.log('info', `worker started (pid ${proc.pid})`);
    return conn;
  }

  /** A request; rejects with WorkerDiedError when the worker exits before answering. */
  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R> {
    const conn = this.conn ?? this.start();
    let rejectOnExit: ((err: Error) => void) | undefined;
    try {
      return await new Promise<R>((resolve, reject) => {
        rejectOnExit = reject;
        this.pending.add(reject);
        conn.sendRequest(type, params as never, token).then(resolve, reject);
      });
    } finally {
      if (rejectOnExit) this.pending.delete(rejectOnExit);
    }
  }

  /** A job: a request whose engine events reach `onEvent` until it is answered. */
  async job<P extends JobParams, R>(
    type: RequestType<P, R, void>,
    params: Omit<P, 'workDoneToken'>,
    onEvent: (e: EngineEvent) => void,
    token?: CancellationToken,
  ): Promise<R> {
    const conn = this.conn ?? this.start();
    const workDoneToken = randomUUID();
    const sub = conn.onProgress(engineProgress, workDoneToken, onEvent);
    try {
      return await this.request(type, { ...params, workDoneToken } as P, token);
    } finally {
      sub.dispose();
    }
  }

  /** Stops the worker now (a cancel the engine did not honour in time); in-flight requests reject as expected deaths. */
  kill(): void {
    if (!this.proc) return;
    this.killing = true;
    this.proc.kill('SIGKILL');
  }

  dispose(): void {
    this.disposed = true;
    const proc = this.proc;
    this.conn?.dispose();
    if (proc) {
      proc.disconnect?.();
      // give it a moment to exit on 'disconnect', then make sure
      setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), WORKER_EXIT_GRACE_MS).unref();
    }
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof ResponseError && err.code === WorkerErrorCode.cancelled;
}

/** The message to show a user for a failed request. */
export function describeError(err: unknown): string {
  if (err instanceof WorkerDiedError) return err.message;
  if (err instanceof ResponseError || err instanceof Error) return err.message;
  return String(err);
}

/**
 * The worker keeps every core busy with onnxruntime and sharp; at a lower scheduling priority
 * it still gets all idle CPU, but the editor, the extension host and the UI stay responsive.
 */
function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, WORKER_NICENESS);
  } catch {
    // not permitted on this system: run at normal priority
  }
}
