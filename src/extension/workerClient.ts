// The host's side of the worker process: forks dist/worker.js on first use, routes engine
// events to the job that asked, and turns a dead worker into a rejected request (the next
// request starts a fresh worker). No 'vscode' import.
import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import type { EngineEvent } from '../protocol/events';
import { eventNotification, WorkerErrorCode } from '../protocol/worker';

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

export class WorkerClient {
  private proc: ChildProcess | undefined;
  private conn: MessageConnection | undefined;
  private readonly pending = new Set<(err: Error) => void>();
  private readonly handlers = new Map<string, (e: EngineEvent) => void>();
  private killing = false;
  private disposed = false;

  constructor(
    private readonly workerPath: string,
    private readonly log: WorkerLog,
  ) {}

  get running(): boolean {
    return this.proc !== undefined;
  }

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
    conn.onNotification(eventNotification, ({ jobId, event }) => this.handlers.get(jobId)?.(event));
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

  /** Sends a request; with `job`, engine events tagged with its id go to `onEvent` until the answer arrives. */
  async request<P, R>(type: RequestType<P, R, void>, params: P, job?: { jobId: string; onEvent: (e: EngineEvent) => void }): Promise<R> {
    const conn = this.conn ?? this.start();
    if (job) this.handlers.set(job.jobId, job.onEvent);
    let rejectOnExit: ((err: Error) => void) | undefined;
    try {
      return await new Promise<R>((resolve, reject) => {
        rejectOnExit = reject;
        this.pending.add(reject);
        conn.sendRequest(type, params as never).then(resolve, reject);
      });
    } finally {
      if (rejectOnExit) this.pending.delete(rejectOnExit);
      if (job) this.handlers.delete(job.jobId);
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
      setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 2000).unref();
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
/** os.setPriority's niceness: 10 of 19, as build tools run in the background */
const WORKER_NICENESS = 10;

function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, WORKER_NICENESS);
  } catch {
    // not permitted on this system: run at normal priority
  }
}
