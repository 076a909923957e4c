// Jobs in the worker as the user sees them: one at a time (a second waits its turn), each with a
// cancellable progress notification, a status bar item and log lines in the "TLDR" channel.
// Cancel goes through the request's CancellationToken; a job that has not stopped
// CANCEL_GRACE_MS later has its worker killed. What a job means for an experiment (scores, runs,
// results) is the ExperimentState's business, not this file's.
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-jsonrpc/node';
import { STEP_TITLES, type EngineEvent } from '../../protocol/events';
import { WorkerErrorCode } from '../../protocol/worker';
import type { JobView } from '../../protocol/webview';
import { describeError, isCancelled, WorkerDiedError, type WorkerClient } from './workerClient';
import { CANCEL_GRACE_MS, JOB_VIEW_MS, NOTIFICATION_REDRAW_MS } from '../timing';

export type JobKind = JobView['kind'];

export interface ActiveJob {
  kind: JobKind;
  /** the experiment the job works on; undefined for the demo */
  file: string | undefined;
  label: string;
  /** 0..100 over the whole job, when known */
  percent?: number;
  message?: string;
  cancelling: boolean;
}

export interface JobHooks {
  /** every engine event of the job, before the runner updates its own view */
  onEvent?(e: EngineEvent): void;
  /** the job's share done, 0..100, when the caller knows better than the current step's (a run's steps) */
  percent?(): number | undefined;
}

export type JobOutcome<T> = { ok: true; value: T } | { ok: false; cancelled: boolean; error?: unknown };

const STATUS_VERB: Record<JobKind, string> = {
  run: 'retraining',
  score: 'scoring',
  generate: 'generating words',
  demo: 'demo',
  discover: 'discovering biases',
};

export class JobRunner implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  /** the job (of this experiment file, or of none) changed: redraw its view */
  readonly onDidChangeJob = this.changed.event;
  private current: { job: ActiveJob; cancel: vscode.CancellationTokenSource } | undefined;
  private readonly waiting: (() => void)[] = [];
  private readonly status: vscode.StatusBarItem;
  private viewTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly worker: WorkerClient,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.status = vscode.window.createStatusBarItem('tldr.job', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'TLDR job';
    this.status.command = 'tldr.showLogs';
  }

  dispose(): void {
    this.status.dispose();
    this.changed.dispose();
  }

  get active(): ActiveJob | undefined {
    return this.current?.job;
  }

  isRunning(file?: string): boolean {
    return !!this.current && (file === undefined || this.current.job.file === file);
  }

  jobView(file: string): JobView | null {
    const a = this.current?.job;
    if (!a || (a.file !== file && a.kind !== 'demo')) return null;
    const percent = a.percent !== undefined ? { percent: Math.max(0, Math.min(100, a.percent)) } : {};
    return { kind: a.kind, label: a.label, ...percent, ...(a.message ? { message: a.message } : {}) };
  }

  /** Runs one job in the worker with progress, status bar and cancel; failures are reported to the user here. */
  async run<T>(
    kind: JobKind,
    file: string | undefined,
    label: string,
    work: (onEvent: (e: EngineEvent) => void, token: vscode.CancellationToken) => Promise<T>,
    hooks: JobHooks = {},
  ): Promise<JobOutcome<T>> {
    if (this.current?.job.kind === kind && this.current.job.file === file) {
      void vscode.window.showInformationMessage(`TLDR: ${this.current.job.label} is already in progress.`);
      return { ok: false, cancelled: false };
    }
    while (this.current) {
      // one job at a time in the worker: a second one (e.g. a run right after Open Demo's scoring) waits its turn
      this.log.info(`[${kind}] ${label}: queued after "${this.current.job.label}"`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    const job: ActiveJob = { kind, file, label, cancelling: false };
    const cancel = new vscode.CancellationTokenSource();
    this.current = { job, cancel };
    this.log.info(`[${kind}] ${label}`);
    this.updateView(true);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `TLDR: ${label}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => void this.cancel());
          let reported = 0;
          let lastRedraw = 0;
          const onEvent = (e: EngineEvent) => {
            hooks.onEvent?.(e);
            this.follow(job, e, hooks);
            const now = Date.now();
            if (e.type !== 'step-start' && e.type !== 'step-end' && now - lastRedraw < NOTIFICATION_REDRAW_MS) return;
            lastRedraw = now;
            // the notification's bar only moves forward
            const increment = hooks.percent ? Math.max(0, (job.percent ?? 0) - reported) : 0;
            if (increment > 0) reported = job.percent ?? 0;
            progress.report({ ...(job.message ? { message: job.message } : {}), ...(increment > 0 ? { increment } : {}) });
          };
          try {
            return { ok: true as const, value: await work(onEvent, cancel.token) };
          } catch (err) {
            const cancelled = isCancelled(err) || (err instanceof WorkerDiedError && err.expected && job.cancelling);
            if (cancelled) this.log.info(`[${kind}] cancelled`);
            else this.reportFailure(job, err);
            return { ok: false as const, cancelled, error: err };
          }
        },
      );
    } finally {
      cancel.dispose();
      this.current = undefined;
      this.updateView(true);
      this.waiting.shift()?.();
    }
  }

  /** Asks the job to stop; kills the worker if it has not stopped in time. */
  async cancel(): Promise<boolean> {
    const cur = this.current;
    if (!cur) return false;
    if (cur.job.cancelling) return true;
    cur.job.cancelling = true;
    cur.job.message = 'cancelling…';
    this.updateView();
    this.log.info(`[${cur.job.kind}] cancel requested`);
    setTimeout(() => {
      if (this.current === cur) {
        this.log.warn(
          `[${cur.job.kind}] the engine did not stop within ${CANCEL_GRACE_MS} ms; stopping the worker (the workspace is never half-written)`,
        );
        this.worker.kill();
      }
    }, CANCEL_GRACE_MS);
    cur.cancel.cancel();
    return true;
  }

  /** Log lines and the job's message and percent from its engine events. */
  private follow(job: ActiveJob, e: EngineEvent, hooks: JobHooks): void {
    const tag = (step?: keyof typeof STEP_TITLES) => `[${step ? STEP_TITLES[step] : job.kind}]`;
    switch (e.type) {
      case 'log':
        this.log[e.level](`${tag(e.step)} ${e.message}`);
        break;
      case 'run-start':
        this.log.info(`[run] run ${e.runId} started in ${e.runDir}`);
        break;
      case 'step-start':
        this.log.info(`${tag(e.step)} started`);
        job.message = STEP_TITLES[e.step];
        break;
      case 'progress': {
        const stepPct = e.total > 0 ? Math.floor((100 * e.done) / e.total) : 0;
        job.message = `${STEP_TITLES[e.step]} ${stepPct}%${e.message ? ` · ${e.message}` : ''}`;
        job.percent = stepPct;
        break;
      }
      case 'step-end':
        this.log.info(`${tag(e.step)} ${e.status} in ${e.seconds.toFixed(1)} s${e.detail ? ` (${e.detail})` : ''}`);
        break;
      default:
        break;
    }
    const overall = hooks.percent?.();
    if (overall !== undefined) job.percent = overall;
    if (job.cancelling) job.message = 'cancelling…';
    this.updateView();
  }

  private reportFailure(job: ActiveJob, err: unknown): void {
    const message = describeError(err);
    this.log.error(`[${job.kind}] ${message}`);
    const showLogs = (pick: string | undefined) => pick && this.log.show(true);
    if (err instanceof WorkerDiedError) {
      void vscode.window
        .showErrorMessage(
          `TLDR: the worker process stopped unexpectedly during "${job.label}" (${err.signal ?? `exit code ${err.code}`}). ${job.kind === 'run' ? 'The run is marked failed. ' : ''}A new worker starts with the next request; nothing in the workspace was half-written.`,
          'Show Logs',
        )
        .then(showLogs);
    } else if (err instanceof ResponseError && err.code === WorkerErrorCode.input) {
      void vscode.window.showErrorMessage(`TLDR: ${message}`);
    } else {
      void vscode.window.showErrorMessage(`TLDR: ${job.label} failed: ${message}`, 'Show Logs').then(showLogs);
    }
  }

  /** The status bar now; the editors' job bar at most every JOB_VIEW_MS. */
  private updateView(immediate = false): void {
    const a = this.current?.job;
    if (a) {
      const pct = a.percent !== undefined ? ` ${Math.floor(a.percent)}%` : '';
      this.status.text = `$(sync~spin) TLDR: ${STATUS_VERB[a.kind]}${pct}`;
      this.status.tooltip = `${a.label}${a.message ? `\n${a.message}` : ''}\nClick to show the logs; "TLDR: Cancel Run" stops it.`;
      this.status.show();
    } else {
      this.status.hide();
    }
    const send = () => {
      this.viewTimer = undefined;
      this.changed.fire(this.current?.job.file);
    };
    if (immediate) {
      if (this.viewTimer) clearTimeout(this.viewTimer);
      send();
    } else this.viewTimer ??= setTimeout(send, JOB_VIEW_MS);
  }
}
