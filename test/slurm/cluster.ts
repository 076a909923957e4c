// A real single-node Slurm cluster for the test, from Debian's packages (the recipe in
// ../shared/docs/slurm-local.md), kept apart from any system one: its own slurm.conf (through
// SLURM_CONF), ports, state and spool folders under one temp folder, and pid files there. A
// second start on the same machine stops what an earlier, interrupted start left (by its pid
// files) and begins from a fresh state; stop() ends the daemons it started, by pid, and removes
// the folder. The daemons run as root (SlurmUser=root): right for a throwaway test cluster,
// wrong for a real one.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

/** Where the test cluster lives; fixed, so a later start finds what an interrupted one left. */
const ROOT = path.join(os.tmpdir(), 'tldr-test-slurm');
const PORTS = { ctld: 16817, d: 16818 };
const MUNGE_PID = '/run/munge/munged.pid';

export interface Cluster {
  env: NodeJS.ProcessEnv;
  stop(): void;
}

const sh = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
const has = (cmd: string) => sh('sh', ['-c', `command -v ${cmd}`]).status === 0;

function pidAlive(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (!pid) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function stopPid(file: string): void {
  const pid = pidAlive(file);
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + 20_000;
  while (Date.now() < until && pidAlive(file)) sh('sleep', ['0.2']);
  if (pidAlive(file)) process.kill(pid, 'SIGKILL');
}

/** Why the Slurm test cannot run here, or undefined when it can (installing the packages if needed). */
export function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the Slurm test needs Linux (Debian packages slurm-wlm and munge)';
  const have = ['sbatch', 'squeue', 'scontrol', 'sinfo', 'slurmctld', 'slurmd', 'munged'].every(
    (c) => has(c) || fs.existsSync(`/usr/sbin/${c}`),
  );
  if (process.getuid?.() !== 0)
    return 'the Slurm test starts slurmctld, slurmd and munged as root (and installs slurm-wlm and munge with apt when missing); run it as root';
  if (have) return undefined;
  if (!has('apt-get')) return 'slurm-wlm and munge are not installed and there is no apt-get to install them';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => sh('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-q', 'slurm-wlm', 'munge'], env);
  let r = install();
  // a fresh machine's package lists may be missing or stale: refresh them once and try again
  if (r.status !== 0 && sh('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update', '-q'], env).status === 0) r = install();
  if (r.status !== 0)
    return `apt-get install slurm-wlm munge failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`;
  return undefined;
}

export async function startCluster(): Promise<Cluster> {
  const host = os.hostname().split('.')[0];
  const conf = path.join(ROOT, 'slurm.conf');
  const pids = { ctld: path.join(ROOT, 'slurmctld.pid'), d: path.join(ROOT, 'slurmd.pid') };
  // an interrupted earlier start: end its daemons by their pid files, then start from nothing
  stopPid(pids.d);
  stopPid(pids.ctld);
  fs.rmSync(ROOT, { recursive: true, force: true });
  for (const d of ['state', 'spool', 'log']) fs.mkdirSync(path.join(ROOT, d), { recursive: true });
  const memMb = Math.floor((os.totalmem() / 1024 / 1024) * 0.8);
  fs.writeFileSync(
    conf,
    [
      '# the tldr-debias Slurm test cluster (test/slurm/cluster.ts); removed when the test ends',
      'ClusterName=tldrtest',
      `SlurmctldHost=${host}`,
      'SlurmUser=root',
      `SlurmctldPort=${PORTS.ctld}`,
      `SlurmdPort=${PORTS.d}`,
      `StateSaveLocation=${path.join(ROOT, 'state')}`,
      `SlurmdSpoolDir=${path.join(ROOT, 'spool')}`,
      `SlurmctldPidFile=${pids.ctld}`,
      `SlurmdPidFile=${pids.d}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'MinJobAge=3600',
      `SlurmctldLogFile=${path.join(ROOT, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${path.join(ROOT, 'log', 'slurmd.log')}`,
      `NodeName=${host} CPUs=${os.cpus().length} RealMemory=${memMb} State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };

  // munge: reuse a running munged (it serves any Slurm on the machine), else start one and stop it at the end
  let startedMunge = false;
  if (!pidAlive(MUNGE_PID)) {
    fs.mkdirSync('/run/munge', { recursive: true });
    if (!fs.existsSync('/etc/munge/munge.key')) {
      fs.mkdirSync('/etc/munge', { recursive: true });
      fs.writeFileSync('/etc/munge/munge.key', Buffer.from(Array.from({ length: 1024 }, () => Math.floor(Math.random() * 256))));
    }
    sh('chown', ['munge:munge', '/etc/munge/munge.key', '/run/munge']);
    fs.chmodSync('/etc/munge/munge.key', 0o400);
    const m = sh('runuser', ['-u', 'munge', '--', '/usr/sbin/munged']);
    if (m.status !== 0) throw new Error(`munged did not start: ${m.stderr}`);
    startedMunge = true;
  }
  const stop = () => {
    stopPid(pids.d);
    stopPid(pids.ctld);
    if (startedMunge) stopPid(MUNGE_PID);
    fs.rmSync(ROOT, { recursive: true, force: true });
  };
  try {
    for (const [daemon, args] of [
      ['/usr/sbin/slurmctld', ['-f', conf]],
      ['/usr/sbin/slurmd', ['-f', conf]],
    ] as const) {
      const r = sh(daemon, [...args], env);
      if (r.status !== 0) throw new Error(`${daemon} did not start (exit ${r.status}): ${r.stderr}`);
    }
    // the node registers within seconds; a bound that only catches a cluster that never comes up
    const until = Date.now() + 90_000;
    for (;;) {
      const s = sh('sinfo', ['-h', '-o', '%T'], env);
      if (s.status === 0 && /^idle/m.test(s.stdout)) break;
      if (Date.now() > until) {
        const log = fs
          .readFileSync(path.join(ROOT, 'log', 'slurmctld.log'), 'utf8')
          .split('\n')
          .slice(-15)
          .join('\n');
        throw new Error(`the test node never became idle (sinfo: ${s.stdout.trim() || s.stderr.trim()}); slurmctld.log:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (err) {
    stop();
    throw err;
  }
  return { env, stop };
}

/** JobState and ExitCode of a job (every task of an array), from scontrol while the controller remembers it. */
export function jobStates(id: string, env: NodeJS.ProcessEnv): { id: string; state: string; exit: string }[] {
  const r = sh('scontrol', ['-o', 'show', 'job', id], env);
  if (r.status !== 0) throw new Error(`scontrol show job ${id}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => ({
      id: /JobId=(\S+)/.exec(l)?.[1] ?? '',
      task: /ArrayTaskId=(\S+)/.exec(l)?.[1],
      state: /JobState=(\S+)/.exec(l)?.[1] ?? '',
      exit: /ExitCode=(\S+)/.exec(l)?.[1] ?? '',
    }))
    .map(({ id: jid, task, state, exit }) => ({ id: task ? `${id}_${task}` : jid, state, exit }));
}
