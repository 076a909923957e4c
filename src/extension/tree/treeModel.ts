// The sidebar tree as data: what the Experiments view shows for an experiment, computed from
// the live run's engine events and the run records on disk. No 'vscode' import: unit-tested;
// tree.ts turns these nodes into TreeItems.
import { STEP_IDS, STEP_TITLES, type EngineEvent, type RunRecord, type RunSummary, type StepId } from '../../protocol/events';
import { headlineSplit } from '../../protocol/runRecord';

export type StepStatus = 'pending' | 'running' | 'done' | 'skipped' | 'cancelled' | 'failed';
export type LiveStatus = 'running' | RunSummary['status'];

export interface LiveStep {
  id: StepId;
  status: StepStatus;
  /** 0..100 while running */
  percent?: number;
  message?: string;
  detail?: string;
}

/** The run in progress (or the last one this session), built from its events. */
export interface LiveRun {
  file: string;
  runId?: string;
  runDir?: string;
  startedAt: string;
  status: LiveStatus;
  steps: LiveStep[];
  summary?: RunSummary;
  error?: string;
}

export function newLiveRun(file: string, startedAt: string): LiveRun {
  return { file, startedAt, status: 'running', steps: STEP_IDS.map((id) => ({ id, status: 'pending' })) };
}

const mapStep = (run: LiveRun, id: StepId, f: (s: LiveStep) => LiveStep): LiveRun => {
  const steps = run.steps.some((s) => s.id === id) ? run.steps : [...run.steps, { id, status: 'pending' as const }];
  return { ...run, steps: steps.map((s) => (s.id === id ? f(s) : s)) };
};

/** The next state of a live run after one engine event (events of other kinds leave it unchanged). */
export function applyRunEvent(run: LiveRun, ev: EngineEvent): LiveRun {
  switch (ev.type) {
    case 'run-start':
      return { ...run, runId: ev.runId, runDir: ev.runDir, steps: ev.steps.map((id) => ({ id, status: 'pending' })) };
    case 'step-start':
      return mapStep(run, ev.step, (s) => ({ ...s, status: 'running', percent: 0 }));
    case 'progress': {
      const percent = ev.total > 0 ? Math.max(0, Math.min(100, (100 * ev.done) / ev.total)) : undefined;
      return mapStep(run, ev.step, (s) => ({ ...s, status: 'running', percent, ...(ev.message ? { message: ev.message } : {}) }));
    }
    case 'step-end':
      return mapStep(run, ev.step, (s) => ({ id: s.id, status: ev.status, ...(ev.detail ? { detail: ev.detail } : {}) }));
    case 'result':
      return endLiveRun(
        { ...run, summary: ev.summary, runId: run.runId ?? ev.summary.runId, runDir: run.runDir ?? ev.summary.runDir },
        ev.summary.status,
        ev.summary.error,
      );
    default:
      return run;
  }
}

/** Ends a live run: the step in flight takes the end status, steps that never ran show it as cancelled. */
export function endLiveRun(run: LiveRun, status: RunSummary['status'], error?: string): LiveRun {
  if (run.status !== 'running') return run;
  const steps = run.steps.map((s): LiveStep => {
    if (status === 'succeeded' || s.status === 'done' || s.status === 'skipped') return s;
    if (s.status === 'running') return { id: s.id, status: status === 'interrupted' ? 'failed' : status };
    return { id: s.id, status: 'cancelled' };
  });
  return { ...run, status, steps, ...(error ? { error } : {}) };
}

/** Fraction of the whole run done, 0..100 (each step weighs the same). */
export function overallPercent(run: LiveRun): number {
  if (run.steps.length === 0) return 0;
  let sum = 0;
  for (const s of run.steps) sum += s.status === 'done' || s.status === 'skipped' ? 100 : s.status === 'running' ? (s.percent ?? 0) : 0;
  return sum / run.steps.length;
}

/** Accuracies are fractions in [0, 1]; shown as percent with one decimal. */
export function formatPercent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function stepDescription(s: LiveStep): string {
  switch (s.status) {
    case 'running':
      return `running ${Math.floor(s.percent ?? 0)}%`;
    case 'skipped':
      // the step had nothing to do (cached or not applicable): it is complete
      return 'done · skipped';
    default:
      return s.status;
  }
}

export function runDescription(r: Pick<RunRecord, 'status' | 'worstGroup'>): string {
  const parts: string[] = [];
  if (r.worstGroup) parts.push(`worst-group ${formatPercent(r.worstGroup.erm)} → ${formatPercent(r.worstGroup.tldr)}`);
  if (r.status !== 'succeeded' || parts.length === 0) parts.push(r.status);
  return parts.join(' · ');
}

/** The record a finished summary stands for (worst group on test when present, else val). */
export function recordFromSummary(summary: RunSummary, experiment: string, startedAt: string): RunRecord {
  const split = headlineSplit(summary.metrics);
  const m = split ? summary.metrics[split] : undefined;
  return {
    runId: summary.runId,
    runDir: summary.runDir,
    experiment,
    startedAt,
    status: summary.status,
    ...(split && m ? { worstGroup: { split, erm: m.erm.worstGroup, tldr: m.tldr.worstGroup } } : {}),
  };
}

export type TreeNode =
  | { kind: 'step'; id: string; step: StepId; label: string; description: string; status: StepStatus; tooltip?: string }
  | { kind: 'run'; id: string; runId: string; runDir?: string; label: string; description: string; status: LiveStatus; tooltip?: string };

/** Children of an experiment: the steps of the current or last run, then every run, newest first. */
export function experimentChildren(file: string, live: LiveRun | undefined, records: readonly RunRecord[]): TreeNode[] {
  const nodes: TreeNode[] = [];
  let steps: LiveStep[] | undefined = live?.steps;
  const newest = records[0];
  if (!steps && newest?.status === 'succeeded') steps = STEP_IDS.map((id) => ({ id, status: 'done' }));
  for (const s of steps ?? []) {
    const tooltip = s.message ?? s.detail;
    nodes.push({
      kind: 'step',
      id: `${file}#step:${s.id}`,
      step: s.id,
      label: STEP_TITLES[s.id],
      description: stepDescription(s),
      status: s.status,
      ...(tooltip ? { tooltip } : {}),
    });
  }
  const runs: { runId: string; runDir?: string; status: LiveStatus; description: string; startedAt: string; tooltip?: string }[] =
    records.map((r) => ({
      runId: r.runId,
      runDir: r.runDir,
      status: r.status,
      description: runDescription(r),
      startedAt: r.startedAt,
      tooltip: `${r.startedAt}${r.worstGroup ? ` · ${r.worstGroup.split} split` : ''}`,
    }));
  if (live?.runId) {
    // the session's view wins over the disk while running, and stands in when the worker died before writing a record
    const liveDesc =
      live.status === 'running'
        ? `running ${Math.floor(overallPercent(live))}%`
        : live.summary
          ? runDescription(recordFromSummary(live.summary, file, live.startedAt))
          : runDescription({ status: live.status });
    const idx = runs.findIndex((r) => r.runId === live.runId);
    const entry = {
      runId: live.runId,
      ...(live.runDir ? { runDir: live.runDir } : {}),
      status: live.status,
      description: liveDesc,
      startedAt: live.startedAt,
      ...(live.error ? { tooltip: live.error } : {}),
    };
    if (idx < 0) runs.unshift(entry);
    else if (live.status === 'running' || records[idx]!.status !== live.status) runs[idx] = entry;
  }
  for (const r of runs) {
    nodes.push({
      kind: 'run',
      id: `${file}#run:${r.runId}`,
      runId: r.runId,
      ...(r.runDir ? { runDir: r.runDir } : {}),
      label: `run ${r.runId}`,
      description: r.description,
      status: r.status,
      ...(r.tooltip ? { tooltip: r.tooltip } : {}),
    });
  }
  return nodes;
}
