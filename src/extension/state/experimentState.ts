// What the views show of each experiment: its word scores, the run in progress (from its engine
// events), its past runs and the latest result for the Results tab. Jobs go through the
// JobRunner; everything from `.tldr/` comes from the worker (the run store owns those files).
// A run's result reaches here once, as the run request's answer.
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { RunRecord, RunSummary, SetupCheck, WordScores } from '../../protocol/events';
import { headlineSplit, type RunGallery } from '../../protocol/runRecord';
import {
  checkSetupRequest,
  clipVariantsRequest,
  createDemoRequest,
  discoverRequest,
  lastDiscoveryRequest,
  generateWordsRequest,
  lastScoresRequest,
  listRunsRequest,
  proposeExperimentRequest,
  runDetailsRequest,
  runRequest,
  scoreRequest,
  type EngineSettings,
  type GeneratedWords,
  type GenerateWordsParams,
  type RunDetails,
  type DiscoverParams,
  type DiscoveryResult,
} from '../../protocol/worker';
import { resultView, type ResultView } from '../../protocol/webview';
import type { ClipVariantOption, ProposeParams, Proposal } from '../../protocol/proposal';
import { applyRunEvent, endLiveRun, newLiveRun, overallPercent, formatPercent, recordFromSummary, type LiveRun } from '../tree/treeModel';
import { describeError, WorkerDiedError } from '../jobs/workerClient';
import type { JobRunner } from '../jobs/jobRunner';
import { TREE_REFRESH_MS } from '../timing';

export type Change = { file: string; what: 'scores' | 'results' | 'runs' | 'discovery' };

export class ExperimentState implements vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<Change>();
  readonly onDidChange = this.changes.event;
  private readonly scores = new Map<string, WordScores | null>();
  private readonly live = new Map<string, LiveRun>();
  private readonly records = new Map<string, RunRecord[]>();
  private readonly results = new Map<string, ResultView | null>();
  /** the gallery of the run `results` shows, with run.json's image paths (the editor turns them into webview URIs) */
  private readonly galleries = new Map<string, RunGallery>();
  private readonly discoveries = new Map<string, DiscoveryResult | null>();
  /** run folders this window's runs wrote: the file watcher need not read them back */
  private readonly ownRunDirs = new Set<string>();
  private runsTimer: NodeJS.Timeout | undefined;

  constructor(readonly jobs: JobRunner) {}

  dispose(): void {
    if (this.runsTimer) clearTimeout(this.runsTimer);
    this.changes.dispose();
  }

  private get worker() {
    return this.jobs.worker;
  }

  // ---- what the views read

  /** The known scores; the first ask fetches the saved ones from the worker and announces them. */
  scoresFor(file: string): WordScores | null {
    if (this.scores.has(file)) return this.scores.get(file)!;
    this.scores.set(file, null);
    if (vscode.workspace.isTrusted) {
      this.worker.request(lastScoresRequest, { file }).then(
        (saved) => {
          // a job's fresh scores win over the saved ones that arrive late
          if (saved && !this.scores.get(file)) this.setScores(file, saved);
        },
        (err) => this.jobs.log.warn(`[scores] cannot read the saved scores of ${file}: ${describeError(err)}`),
      );
    }
    return null;
  }

  /** The newest discovery; the first ask reads the saved one through the worker and announces it. */
  discoveryFor(file: string): DiscoveryResult | null {
    if (this.discoveries.has(file)) return this.discoveries.get(file)!;
    this.discoveries.set(file, null);
    if (vscode.workspace.isTrusted) {
      this.worker.request(lastDiscoveryRequest, { file }).then(
        (saved) => {
          if (saved && !this.discoveries.get(file)) {
            this.discoveries.set(file, saved);
            this.fire({ file, what: 'discovery' });
          }
        },
        (err) => this.jobs.log.warn(`[discover] cannot read the saved discovery of ${file}: ${describeError(err)}`),
      );
    }
    return null;
  }

  liveRun(file: string): LiveRun | undefined {
    return this.live.get(file);
  }

  cachedRecords(file: string): RunRecord[] | undefined {
    return this.records.get(file);
  }

  isOwnRunFile(runJson: string): boolean {
    return this.ownRunDirs.has(path.dirname(runJson));
  }

  // ---- jobs

  engineSettings(file: string): EngineSettings {
    const uri = vscode.Uri.file(file);
    const cfg = vscode.workspace.getConfiguration('tldr', uri);
    const folderSetting = cfg.get<string>('cacheFolder', '').trim();
    const base = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(file);
    return {
      executionProvider: cfg.get<string>('onnx.executionProvider', 'cpu'),
      threads: cfg.get<number>('onnx.threads', 0),
      ...(folderSetting ? { cacheDir: path.resolve(base, folderSetting) } : {}),
    };
  }

  async scoreWords(file: string): Promise<WordScores | undefined> {
    const res = await this.jobs.run('score', file, `Scoring words of ${path.basename(file)}`, (onEvent, token) =>
      this.worker.job(scoreRequest, { file, ...this.engineSettings(file) }, onEvent, token),
    );
    if (!res.ok) return undefined;
    this.setScores(file, res.value);
    const { scores, lambda } = res.value;
    this.jobs.log.info(`[score] ${scores.length} words scored, ${scores.filter((s) => !s.pass).length} failing (lambda ${lambda})`);
    return res.value;
  }

  async startRun(file: string): Promise<RunSummary | undefined> {
    let live = newLiveRun(file, new Date().toISOString());
    this.live.set(file, live);
    this.fire({ file, what: 'runs' });
    const res = await this.jobs.run(
      'run',
      file,
      `Retraining ${path.basename(file)}`,
      (onEvent, token) => this.worker.job(runRequest, { file, ...this.engineSettings(file) }, onEvent, token),
      {
        onEvent: (e) => {
          if (e.type === 'scores') return this.setScores(file, { scores: e.scores, lambda: e.lambda });
          // the result comes as the request's answer, below
          if (e.type === 'result' || e.type === 'log') return;
          live = applyRunEvent(live, e);
          this.live.set(file, live);
          if (e.type === 'run-start' && e.runDir) this.ownRunDirs.add(e.runDir);
          if (e.type === 'progress') this.fireRunsSoon(file);
          else this.fire({ file, what: 'runs' });
        },
        percent: () => overallPercent(live),
      },
    );
    if (res.ok) {
      this.finishRun(file, live, res.value);
      return res.value;
    }
    const cancelled = res.cancelled || (res.error instanceof WorkerDiedError && res.error.expected);
    this.live.set(file, endLiveRun(live, cancelled ? 'cancelled' : 'failed', cancelled ? undefined : describeError(res.error)));
    this.fire({ file, what: 'runs' });
    return undefined;
  }

  private finishRun(file: string, live: LiveRun, summary: RunSummary): void {
    const ended = applyRunEvent(live, { type: 'result', summary });
    this.live.set(file, ended);
    const record = recordFromSummary(summary, file, live.startedAt);
    this.records.set(file, [record, ...(this.records.get(file) ?? []).filter((r) => r.runId !== record.runId)]);
    // an exported run has its report and model; the answer says all the Results tab needs
    const exported = summary.status === 'succeeded';
    this.results.set(file, resultView(summary, { hasReport: exported, hasModel: exported }));
    this.setGallery(file, summary.gallery);
    const split = headlineSplit(summary.metrics);
    this.fire({ file, what: 'runs' });
    this.fire({ file, what: 'results' });
    const m = split && summary.metrics[split];
    if (summary.status === 'succeeded') {
      const detail = m ? `: worst-group accuracy (${split}) ${formatPercent(m.erm.worstGroup)} → ${formatPercent(m.tldr.worstGroup)}` : '';
      this.jobs.log.info(`[run] run ${summary.runId} finished${detail}`);
      void vscode.window.showInformationMessage(`TLDR: run ${summary.runId} finished${detail}.`, 'Open Report').then((pick) => {
        if (pick) void vscode.commands.executeCommand('tldr.openReport', vscode.Uri.file(file));
      });
    } else if (summary.status === 'cancelled') {
      this.jobs.log.info(`[run] run ${summary.runId} cancelled`);
    } else {
      this.jobs.log.error(`[run] run ${summary.runId} failed: ${summary.error ?? ''}`);
      void vscode.window
        .showErrorMessage(`TLDR: run ${summary.runId} failed: ${summary.error ?? 'see the TLDR output'}`, 'Show Logs')
        .then((pick) => pick && this.jobs.log.show(true));
    }
  }

  async createDemo(dir: string): Promise<string | undefined> {
    const res = await this.jobs.run('demo', undefined, 'Creating the demo experiment', (onEvent, token) =>
      this.worker.job(createDemoRequest, { dir }, onEvent, token),
    );
    return res.ok ? res.value : undefined;
  }

  async discover(
    file: string,
    params: Omit<DiscoverParams, 'workDoneToken' | 'file' | keyof EngineSettings>,
  ): Promise<DiscoveryResult | undefined> {
    const res = await this.jobs.run('discover', file, `Discovering biases of ${path.basename(file)}`, (onEvent, token) =>
      this.worker.job(discoverRequest, { file, ...params, ...this.engineSettings(file) }, onEvent, token),
    );
    if (!res.ok) return undefined;
    this.discoveries.set(file, res.value);
    this.fire({ file, what: 'discovery' });
    return res.value;
  }

  async generateWords(file: string, params: Omit<GenerateWordsParams, 'workDoneToken' | 'file'>): Promise<GeneratedWords | undefined> {
    const res = await this.jobs.run('generate', file, `Generating words for ${path.basename(file)}`, (onEvent, token) =>
      this.worker.job(generateWordsRequest, { file, ...params }, onEvent, token),
    );
    return res.ok ? res.value : undefined;
  }

  // ---- queries (no job, no progress)

  checkSetup(file: string): Promise<SetupCheck[]> {
    return this.worker.request(checkSetupRequest, { file, ...this.engineSettings(file) });
  }

  /** The New Experiment wizard's detection: an experiment proposed from models and data (nothing written). */
  proposeExperiment(params: ProposeParams): Promise<Proposal> {
    return this.worker.request(proposeExperimentRequest, params);
  }

  /** The CLIP variants an export folder offers (the Setup tab's dropdown). */
  clipVariants(dir: string): Promise<ClipVariantOption[]> {
    return this.worker.request(clipVariantsRequest, { dir });
  }

  /** Lists the runs on disk again (runs of the CLI or another window). */
  async refreshRuns(file: string): Promise<RunRecord[]> {
    try {
      this.records.set(file, await this.worker.request(listRunsRequest, { file }));
    } catch (err) {
      this.jobs.log.warn(`[runs] cannot list the runs of ${file}: ${describeError(err)}`);
      if (!this.records.has(file)) this.records.set(file, []);
    }
    this.results.delete(file);
    this.galleries.delete(file);
    this.fire({ file, what: 'runs' });
    this.fire({ file, what: 'results' });
    return this.records.get(file)!;
  }

  runDetails(runDir: string): Promise<RunDetails> {
    return this.worker.request(runDetailsRequest, { runDir });
  }

  /** The newest run's results for the Results tab (this window's last run first, else the newest on disk). */
  async latestResult(file: string): Promise<ResultView | null> {
    if (this.results.has(file)) return this.results.get(file)!;
    const live = this.live.get(file);
    if (live && live.status !== 'running' && !live.runId) return null;
    const runDir = live?.runDir ?? (this.records.get(file) ?? (await this.refreshRuns(file)))[0]?.runDir;
    let details: RunDetails = { summary: null };
    if (runDir) {
      try {
        details = await this.runDetails(runDir);
      } catch (err) {
        this.jobs.log.warn(`[results] ${describeError(err)}`);
      }
    }
    const s = details.summary;
    const view: ResultView | null = s
      ? resultView(s, { hasReport: !!details.reportPath, hasModel: !!details.modelPath })
      : live?.runId && live.status !== 'running'
        ? {
            runId: live.runId,
            status: live.status,
            split: null,
            metrics: null,
            ...(live.error ? { error: live.error } : {}),
            hasReport: false,
            hasModel: false,
          }
        : null;
    this.results.set(file, view);
    this.setGallery(file, s?.gallery);
    return view;
  }

  /** The per-group examples of the run latestResult shows (none for runs without them). */
  galleryFor(file: string): RunGallery | undefined {
    return this.galleries.get(file);
  }

  private setGallery(file: string, gallery: RunGallery | undefined): void {
    if (gallery) this.galleries.set(file, gallery);
    else this.galleries.delete(file);
  }

  /** The run folder of a run id of this experiment. */
  runDirOf(file: string, runId: string): string | undefined {
    const live = this.live.get(file);
    if (live?.runId === runId && live.runDir) return live.runDir;
    return this.records.get(file)?.find((r) => r.runId === runId)?.runDir;
  }

  // ---- changes

  private setScores(file: string, scores: WordScores): void {
    this.scores.set(file, scores);
    this.fire({ file, what: 'scores' });
  }

  private fire(c: Change): void {
    this.changes.fire(c);
  }

  /** progress events redraw the run's steps at the tree's own rate */
  private fireRunsSoon(file: string): void {
    this.runsTimer ??= setTimeout(() => {
      this.runsTimer = undefined;
      this.fire({ file, what: 'runs' });
    }, TREE_REFRESH_MS);
  }
}
