// What the tree shows of a Slurm submission, from squeue's lines and the run job's run.json.
// No 'vscode' import: unit-tested; tree.ts turns it into a TreeItem.
import type { SlurmStatus, SlurmSubmissionInfo } from '../../protocol/worker';

export interface SlurmView {
  /** the tree's line, e.g. "Slurm 123: 2 running, 1 pending, 1 done" */
  label: string;
  description: string;
  tooltip: string;
  /** still waiting for something: keep polling */
  active: boolean;
  /** how it ended, once it has */
  outcome?: 'succeeded' | 'failed' | 'cancelled' | 'interrupted' | 'ended-without-run';
}

/** How many array tasks a squeue id stands for: "123_4" one, "123_[5-7,9%2]" four. */
export function taskCount(id: string): number {
  const m = /_\[([^\]]*)\]$/.exec(id);
  if (!m) return 1;
  let n = 0;
  for (const part of m[1].split('%')[0].split(',')) {
    const r = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!r) continue;
    const [a, b, step] = [Number(r[1]), r[2] === undefined ? Number(r[1]) : Number(r[2]), r[3] === undefined ? 1 : Number(r[3])];
    n += Math.floor((b - a) / step) + 1;
  }
  return n;
}

export function slurmView(sub: SlurmSubmissionInfo, status: SlurmStatus | undefined): SlurmView {
  const head = `Slurm ${sub.arrayJobId}`;
  const tooltip = `encode array ${sub.arrayJobId} (${sub.tasks} tasks), then run job ${sub.runJobId}\nscripts and logs: ${sub.dir}`;
  if (!status) return { label: head, description: `submitted, ${sub.tasks} tasks`, tooltip, active: true };
  const tasks = status.queue.filter((q) => q.id === sub.arrayJobId || q.id.startsWith(`${sub.arrayJobId}_`));
  const runJob = status.queue.find((q) => q.id === sub.runJobId);
  const count = (state: string) => tasks.filter((t) => t.state === state).reduce((n, t) => n + taskCount(t.id), 0);
  const pending = count('PENDING');
  const running = tasks.filter((t) => t.state !== 'PENDING').reduce((n, t) => n + taskCount(t.id), 0);
  const done = Math.max(0, sub.tasks - pending - running);
  const parts = [`encode ${done}/${sub.tasks} done`];
  if (running) parts.push(`${running} running`);
  if (pending) parts.push(`${pending} pending`);
  const run = status.run;
  if (run && run.status !== 'running')
    return {
      label: head,
      description: `run ${run.status}`,
      tooltip: `${tooltip}\nrun folder: ${run.runDir}`,
      active: false,
      outcome: run.status,
    };
  if (run && !runJob)
    // the job has left the queue but its record still says running: the process died without writing its end
    return {
      label: head,
      description: 'run failed: the job ended without finishing its run.json',
      tooltip: `${tooltip}\nlog: ${sub.logs.run}`,
      active: false,
      outcome: 'failed',
    };
  if (run) parts.push('run running');
  else if (runJob) parts.push(`run ${runJob.state.toLowerCase()}${runJob.reason && runJob.reason !== 'None' ? ` (${runJob.reason})` : ''}`);
  else if (!tasks.length)
    // nothing queued and no run.json: a shard failed (the run job was cancelled) or the run died before starting
    return {
      label: head,
      description: 'ended without a run: see the logs',
      tooltip: `${tooltip}\nlogs: ${sub.logs.encode[0]} ... and ${sub.logs.run}`,
      active: false,
      outcome: 'ended-without-run',
    };
  return { label: head, description: parts.join(', '), tooltip, active: true };
}
