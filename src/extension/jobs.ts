// Jobs in the worker as the user sees them: one at a time, with a cancellable progress
// notification, a status bar item, log lines in the "TLDR" channel, live run state for the
// tree, and the scores and results the editors show.
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { STEP_TITLES, type EngineEvent, type RunRecord, type RunSummary, type SetupCheck, type WordScore } from '../protocol/events';
import {
  cancelRequest,
  checkSetupRequest,
  createDemoRequest,
  generateWordsRequest,
  listRunsRequest,
  runDetailsRequest,
  runRequest,
  scoreRequest,
  WorkerErrorCode,
  type EngineSettings,
  type GeneratedWords,
  type GenerateWordsParams,
  type RunDetails,
} from '../protocol/worker';
import { wordScoreSchema, type JobView, type ResultView } from '../protocol/webview';
import { scoresFile } from '../engine/scoresFile';
import { applyRunEvent, endLiveRun, newLiveRun, overallPercent, formatPercent, type LiveRun } from './treeModel';
import { describeError, isCancelled, WorkerClient, WorkerDiedError } from './workerClient';
import { ResponseError } from 'vscode-jsonrpc/node';

export type JobKind = JobView['kind'];
export type Change = { file: string; what: 'scores' | 'job' | 'results' | 'runs' } | { file: undefined; what: 'job' };

interface ActiveJob {
  jobId: string;
  kind: JobKind;
  file: string | undefined;
  label: string;
  percent?: number;
  message?: string;
  cancelling: boolean;
}

/** Cancel must stop a run within 2 s: if the engine has not stopped after this, the worker is killed. */
const CANCEL_GRACE_MS = 1500;
/** At most this often, the progress notification is redrawn (step starts and ends always are). */
const REPORT_MS = 250;

export class Jobs implements vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<Change>();
  readonly onDidChange = this.changes.event;
  private readonly scores = new Map<string, WordScore[]>();
  private readonly live = new Map<string, LiveRun>();
  private readonly records = new Map<string, RunRecord[]>();
  private readonly results = new Map<string, ResultView | null>();
  private active: ActiveJob | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  private queued = 0;
  private readonly status: vscode.StatusBarItem;
  private jobNotifyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly worker: WorkerClient,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.status = vscode.window.createStatusBarItem('tldr.job', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'TLDR job';
    this.status.command = 'tldr.showLogs';
  }

  dispose(): void {
    this.status.dispose();
    this.changes.dispose();
  }

  // ---- state the views read

  scoresFor(file: string): WordScore[] {
    let scores = this.scores.get(file);
    if (!scores) {
      scores = readSavedScores(file);
      this.scores.set(file, scores);
    }
    return scores;
  }
  liveRun(file: string): LiveRun | undefined {
    return this.live.get(file);
  }
  cachedRecords(file: string): RunRecord[] | undefined {
    return this.records.get(file);
  }
  jobView(file: string): JobView | null {
    const a = this.active;
    if (!a || (a.file !== file && a.kind !== 'demo')) return null;
    return {
      kind: a.kind,
      label: a.label,
      ...(a.percent !== undefined ? { percent: Math.max(0, Math.min(100, a.percent)) } : {}),
      ...(a.message ? { message: a.message } : {}),
    };
  }
  isRunning(file?: string): boolean {
    return !!this.active && (file === undefined || this.active.file === file);
  }

  // ---- settings

  engineSettings(file: string): EngineSettings {
    const uri = vscode.Uri.file(file);
    const cfg = vscode.workspace.getConfiguration('tldr', uri);
    const ep = cfg.get<string>('onnx.executionProvider', 'cpu');
    const folderSetting = cfg.get<string>('cacheFolder', '').trim();
    let cacheDir: string | undefined;
    if (folderSetting) {
      const base = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(file);
      cacheDir = path.resolve(base, folderSetting);
    }
    return { executionProvider: ep, ...(cacheDir ? { cacheDir } : {}) };
  }

  // ---- jobs

  async scoreWords(file: string): Promise<WordScore[] | undefined> {
    const res = await this.runJob('score', file, `Scoring words of ${path.basename(file)}`, (jobId, onEvent) =>
      this.worker.request(scoreRequest, { jobId, file, ...this.engineSettings(file) }, { jobId, onEvent }),
    );
    if (res.ok) {
      this.setScores(file, res.value);
      const failing = res.value.filter((s) => !s.pass).length;
      this.log.info(`[score] ${res.value.length} words scored, ${failing} failing`);
      return res.value;
    }
    return undefined;
  }

  async startRun(file: string): Promise<RunSummary | undefined> {
    const res = await this.runJob('run', file, `Retraining ${path.basename(file)}`, (jobId, onEvent) =>
      this.worker.request(runRequest, { jobId, file, ...this.engineSettings(file) }, { jobId, onEvent }),
    );
    void this.refreshRuns(file);
    if (!res.ok) return undefined;
    const s = res.value;
    this.results.delete(file);
    this.fire({ file, what: 'results' });
    return s;
  }

  async createDemo(dir: string): Promise<string | undefined> {
    const res = await this.runJob('demo', undefined, 'Creating the demo experiment', (jobId, onEvent) =>
      this.worker.request(createDemoRequest, { jobId, dir }, { jobId, onEvent }),
    );
    return res.ok ? res.value : undefined;
  }

  async generateWords(file: string, params: Omit<GenerateWordsParams, 'jobId' | 'file'>): Promise<GeneratedWords | undefined> {
    const res = await this.runJob('generate', file, `Generating words for ${path.basename(file)}`, (jobId, onEvent) =>
      this.worker.request(generateWordsRequest, { jobId, file, ...params }, { jobId, onEvent }),
    );
    return res.ok ? res.value : undefined;
  }

  /** Asks the worker to stop the job; kills the worker if the engine has not stopped in time. */
  async cancel(): Promise<boolean> {
    const a = this.active;
    if (!a) return false;
    if (a.cancelling) return true;
    a.cancelling = true;
    a.message = 'cancelling…';
    this.notifyJob();
    this.log.info(`[${a.kind}] cancel requested`);
    setTimeout(() => {
      if (this.active?.jobId === a.jobId) {
        this.log.warn(
          `[${a.kind}] the engine did not stop within ${CANCEL_GRACE_MS} ms; stopping the worker (the workspace is never half-written)`,
        );
        this.worker.kill();
      }
    }, CANCEL_GRACE_MS);
    try {
      await this.worker.request(cancelRequest, { jobId: a.jobId });
    } catch {
      // the worker may already be gone; the timer above covers it
    }
    return true;
  }

  private async runJob<T>(
    kind: JobKind,
    file: string | undefined,
    label: string,
    work: (jobId: string, onEvent: (e: EngineEvent) => void) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    if (this.active && this.active.kind === kind && this.active.file === file) {
      void vscode.window.showInformationMessage(`TLDR: ${this.active.label} is already in progress.`);
      return { ok: false };
    }
    // one job at a time in the worker: a second one (e.g. a run right after Open Demo's scoring) waits its turn
    if (this.active || this.queued > 0) {
      this.log.info(`[${kind}] ${label}: queued after "${this.active?.label ?? 'the queued jobs'}"`);
      this.queued++;
      try {
        do await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        while (this.active);
      } finally {
        this.queued--;
      }
    }
    const jobId = randomUUID();
    const job: ActiveJob = { jobId, kind, file, label, cancelling: false };
    this.active = job;
    if (kind === 'run' && file) this.live.set(file, newLiveRun(file, jobId, new Date().toISOString()));
    this.log.info(`[${kind}] ${label}`);
    this.notifyJob(true);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `TLDR: ${label}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => void this.cancel());
          let reported = 0;
          let lastReport = 0;
          const onEvent = (e: EngineEvent) => {
            this.onEngineEvent(job, e);
            // Each report redraws the notification in the UI: a flood of them (a cached encode
            // reports hundreds of batches a second) would hold up the tree and the editor.
            const now = Date.now();
            if (e.type !== 'step-start' && e.type !== 'step-end' && now - lastReport < REPORT_MS) return;
            lastReport = now;
            // the notification's bar only moves forward; a run reports its overall share of steps
            const pct = job.percent ?? 0;
            const increment = kind === 'run' ? Math.max(0, pct - reported) : 0;
            if (increment > 0) reported = pct;
            progress.report({ ...(job.message ? { message: job.message } : {}), ...(increment > 0 ? { increment } : {}) });
          };
          try {
            const value = await work(jobId, onEvent);
            if (kind === 'run' && file) this.finishLive(file, value as unknown as RunSummary);
            return { ok: true as const, value };
          } catch (err) {
            this.failJob(job, err);
            return { ok: false as const };
          }
        },
      );
    } finally {
      this.active = undefined;
      this.notifyJob(true);
      // wake one waiter; it re-checks `active` before starting
      this.idleWaiters.shift()?.();
    }
  }

  private onEngineEvent(job: ActiveJob, e: EngineEvent): void {
    const file = job.file;
    const tag = (step?: string) => `[${step ? (STEP_TITLES[step as keyof typeof STEP_TITLES] ?? step) : job.kind}]`;
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
        if (job.kind !== 'run') job.percent = stepPct;
        break;
      }
      case 'step-end':
        this.log.info(`${tag(e.step)} ${e.status} in ${e.seconds.toFixed(1)} s${e.detail ? ` (${e.detail})` : ''}`);
        break;
      case 'scores':
        if (file) this.setScores(file, e.scores);
        break;
      case 'result':
        this.log.info(`[run] ${e.summary.status}${e.summary.error ? `: ${e.summary.error}` : ''}`);
        break;
    }
    if (job.cancelling) job.message = 'cancelling…';
    if (job.kind === 'run' && file) {
      const run = this.live.get(file);
      if (run && run.jobId === job.jobId) {
        const next = applyRunEvent(run, e);
        this.live.set(file, next);
        job.percent = overallPercent(next);
        if (e.type !== 'log' && e.type !== 'progress') this.fire({ file, what: 'runs' });
        else if (e.type === 'progress') this.throttledRuns(file);
      }
    }
    this.notifyJob();
  }

  private runsTimer: NodeJS.Timeout | undefined;
  private throttledRuns(file: string): void {
    if (this.runsTimer) return;
    this.runsTimer = setTimeout(() => {
      this.runsTimer = undefined;
      this.fire({ file, what: 'runs' });
    }, 200);
  }

  private finishLive(file: string, summary: RunSummary): void {
    const run = this.live.get(file);
    if (run) this.live.set(file, applyRunEvent(run, { type: 'result', summary }));
    this.fire({ file, what: 'runs' });
    const split = summary.metrics.test ? 'test' : 'val';
    const m = summary.metrics[split];
    if (summary.status === 'succeeded') {
      const detail = m ? `: worst-group accuracy (${split}) ${formatPercent(m.erm.worstGroup)} → ${formatPercent(m.tldr.worstGroup)}` : '';
      this.log.info(`[run] run ${summary.runId} finished${detail}`);
      void vscode.window.showInformationMessage(`TLDR: run ${summary.runId} finished${detail}.`, 'Open Report').then((pick) => {
        if (pick) void vscode.commands.executeCommand('tldr.openReport', vscode.Uri.file(file));
      });
    } else if (summary.status === 'cancelled') {
      this.log.info(`[run] run ${summary.runId} cancelled`);
    } else {
      void vscode.window
        .showErrorMessage(`TLDR: run ${summary.runId} failed: ${summary.error ?? 'see the TLDR output'}`, 'Show Logs')
        .then((pick) => pick && this.log.show(true));
    }
  }

  private failJob(job: ActiveJob, err: unknown): void {
    const cancelled = isCancelled(err) || (err instanceof WorkerDiedError && err.expected && job.cancelling);
    const status: RunSummary['status'] = cancelled ? 'cancelled' : 'failed';
    if (job.kind === 'run' && job.file) {
      const run = this.live.get(job.file);
      if (run?.jobId === job.jobId) this.live.set(job.file, endLiveRun(run, status, cancelled ? undefined : describeError(err)));
      this.fire({ file: job.file, what: 'runs' });
    }
    if (cancelled) {
      this.log.info(`[${job.kind}] cancelled`);
      return;
    }
    const message = describeError(err);
    this.log.error(`[${job.kind}] ${message}`);
    if (err instanceof WorkerDiedError) {
      void vscode.window
        .showErrorMessage(
          `TLDR: the worker process stopped unexpectedly during "${job.label}" (${err.signal ?? `exit code ${err.code}`}). ${job.kind === 'run' ? 'The run is marked failed. ' : ''}A new worker starts with the next request; nothing in the workspace was half-written.`,
          'Show Logs',
        )
        .then((pick) => pick && this.log.show(true));
    } else if (err instanceof ResponseError && (err.code === WorkerErrorCode.input || err.code === WorkerErrorCode.unavailable)) {
      void vscode.window.showErrorMessage(`TLDR: ${message}`);
    } else {
      void vscode.window.showErrorMessage(`TLDR: ${job.label} failed: ${message}`, 'Show Logs').then((pick) => pick && this.log.show(true));
    }
  }

  // ---- queries (no job, no progress)

  async checkSetup(file: string): Promise<SetupCheck[]> {
    return this.worker.request(checkSetupRequest, { file, ...this.engineSettings(file) });
  }

  async refreshRuns(file: string): Promise<RunRecord[]> {
    try {
      const runs = await this.worker.request(listRunsRequest, { file });
      this.records.set(file, runs);
    } catch (err) {
      this.log.warn(`[runs] cannot list the runs of ${file}: ${describeError(err)}`);
      if (!this.records.has(file)) this.records.set(file, []);
    }
    this.results.delete(file);
    this.fire({ file, what: 'runs' });
    this.fire({ file, what: 'results' });
    return this.records.get(file)!;
  }

  async runDetails(runDir: string): Promise<RunDetails> {
    return this.worker.request(runDetailsRequest, { runDir });
  }

  /** The newest run's results for the Results tab (a run of this session first, else the newest on disk). */
  async latestResult(file: string): Promise<ResultView | null> {
    if (this.results.has(file)) return this.results.get(file)!;
    const live = this.live.get(file);
    let summary: RunSummary | null = live?.summary ?? null;
    let runDir = live?.runDir;
    if (!summary && !live?.runId) {
      const records = this.records.get(file) ?? (await this.refreshRuns(file));
      runDir = records[0]?.runDir;
    }
    let details: RunDetails = { summary: null };
    if (runDir) {
      try {
        details = await this.runDetails(runDir);
      } catch (err) {
        this.log.warn(`[results] ${describeError(err)}`);
      }
    }
    summary ??= details.summary;
    let view: ResultView | null = null;
    if (summary) {
      const split = summary.metrics.test ? 'test' : summary.metrics.val ? 'val' : null;
      view = {
        runId: summary.runId,
        status: summary.status,
        split,
        metrics: split ? summary.metrics[split]! : null,
        ...(summary.error ? { error: summary.error } : {}),
        hasReport: !!details.reportPath,
        hasModel: !!details.modelPath,
      };
    } else if (live?.runId && live.status !== 'running') {
      view = {
        runId: live.runId,
        status: live.status,
        split: null,
        metrics: null,
        ...(live.error ? { error: live.error } : {}),
        hasReport: false,
        hasModel: false,
      };
    }
    this.results.set(file, view);
    return view;
  }

  /** The run folder of a run id of this experiment. */
  runDirOf(file: string, runId: string): string | undefined {
    const live = this.live.get(file);
    if (live?.runId === runId && live.runDir) return live.runDir;
    return this.records.get(file)?.find((r) => r.runId === runId)?.runDir;
  }

  // ---- notifications

  private setScores(file: string, scores: WordScore[]): void {
    this.scores.set(file, scores);
    this.fire({ file, what: 'scores' });
  }

  private fire(c: Change): void {
    this.changes.fire(c);
  }

  /** Status bar now; the editors' job view at most every 100 ms. */
  private notifyJob(immediate = false): void {
    const a = this.active;
    if (a) {
      const pct = a.percent !== undefined ? ` ${Math.floor(a.percent)}%` : '';
      this.status.text = `$(sync~spin) TLDR: ${a.kind === 'run' ? 'retraining' : a.kind === 'score' ? 'scoring' : a.kind === 'generate' ? 'generating words' : 'demo'}${pct}`;
      this.status.tooltip = `${a.label}${a.message ? `\n${a.message}` : ''}\nClick to show the logs; "TLDR: Cancel Run" stops it.`;
      this.status.show();
    } else {
      this.status.hide();
    }
    const send = () => {
      this.jobNotifyTimer = undefined;
      this.fire(a?.file ? { file: a.file, what: 'job' } : { file: undefined, what: 'job' });
    };
    if (immediate) {
      if (this.jobNotifyTimer) clearTimeout(this.jobNotifyTimer);
      send();
      return;
    }
    if (!this.jobNotifyTimer) this.jobNotifyTimer = setTimeout(send, 100);
  }
}

/** The scores the engine saved last time (none when the file is missing or from another version). */
function readSavedScores(file: string): WordScore[] {
  try {
    const saved = JSON.parse(fs.readFileSync(scoresFile(file), 'utf8')) as { scores?: unknown };
    const parsed = z.array(wordScoreSchema).safeParse(saved.scores);
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
