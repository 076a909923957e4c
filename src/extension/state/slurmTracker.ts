// Slurm submissions made from this window ("TLDR: Run on Slurm…"): each is polled through the
// worker (squeue, and the run job's run.json) every SLURM_POLL_MS until its run has ended, and
// the tree shows its state.
import * as vscode from 'vscode';
import { slurmStatusRequest, slurmSubmitRequest, type SlurmStatus, type SlurmSubmissionInfo } from '../../protocol/worker';
import { describeError } from '../jobs/workerClient';
import type { ExperimentState } from './experimentState';
import { slurmView, type SlurmView } from '../tree/slurmModel';
import { SLURM_POLL_MS } from '../timing';

interface Tracked {
  sub: SlurmSubmissionInfo;
  status?: SlurmStatus;
  view: SlurmView;
  timer?: NodeJS.Timeout;
}

export class SlurmTracker implements vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<string>();
  /** fires the experiment file whose submissions changed */
  readonly onDidChange = this.changes.event;
  private readonly byFile = new Map<string, Tracked[]>();
  private disposed = false;

  constructor(private readonly state: ExperimentState) {}

  dispose(): void {
    this.disposed = true;
    for (const list of this.byFile.values()) for (const t of list) if (t.timer) clearTimeout(t.timer);
    this.changes.dispose();
  }

  /** This window's submissions of an experiment, newest first. */
  views(file: string): { sub: SlurmSubmissionInfo; view: SlurmView }[] {
    return (this.byFile.get(file) ?? []).map(({ sub, view }) => ({ sub, view }));
  }

  async submit(file: string, tasks: number): Promise<SlurmSubmissionInfo> {
    const sub = await this.state.jobs.worker.request(slurmSubmitRequest, { file, tasks });
    const t: Tracked = { sub, view: slurmView(sub, undefined) };
    this.byFile.set(file, [t, ...(this.byFile.get(file) ?? [])]);
    this.state.jobs.log.info(
      `[slurm] submitted ${file}: encode array ${sub.arrayJobId} (${sub.tasks} tasks), run job ${sub.runJobId}; scripts and logs in ${sub.dir}`,
    );
    this.changes.fire(file);
    this.schedule(file, t, 0);
    return sub;
  }

  private schedule(file: string, t: Tracked, delay: number): void {
    if (this.disposed) return;
    t.timer = setTimeout(() => void this.poll(file, t), delay);
  }

  private async poll(file: string, t: Tracked): Promise<void> {
    try {
      t.status = await this.state.jobs.worker.request(slurmStatusRequest, {
        file,
        arrayJobId: t.sub.arrayJobId,
        runJobId: t.sub.runJobId,
      });
    } catch (err) {
      this.state.jobs.log.warn(`[slurm] cannot read the state of job ${t.sub.arrayJobId}: ${describeError(err)}`);
    }
    const before = t.view.description;
    t.view = slurmView(t.sub, t.status);
    if (t.view.description !== before) {
      this.state.jobs.log.info(`[slurm] ${t.view.label}: ${t.view.description}`);
      this.changes.fire(file);
    }
    if (t.view.active) return this.schedule(file, t, SLURM_POLL_MS);
    t.timer = undefined;
    // the run's record is on disk: the tree's run list and the Results tab read it back
    void this.state.refreshRuns(file);
    const msg = `TLDR: Slurm job ${t.sub.runJobId} (${file}): ${t.view.description}.`;
    if (t.view.outcome === 'succeeded') void vscode.window.showInformationMessage(msg);
    else void vscode.window.showWarningMessage(`${msg} Logs: ${t.sub.dir}`);
  }
}
