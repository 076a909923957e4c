// Output for the CLI: human-readable progress on stderr, or with --json one event per line
// on stdout. Exit codes are shared by every command.
import type { EngineEvent, RunSummary } from '../protocol/events';
import { ConfigError, resolveCliLlmSettings, type LlmCliFlags } from '../llm/config';
import { STEP_TITLES } from '../protocol/events';
import { metricsTable, selectionSummary } from '../engine/api';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** A wrong command line: the message (with the usage) is printed and the exit code is 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--threads N`: onnxruntime threads per model, as engine options (absent = every core). */
export function threadsOption(value: string | undefined): { threads?: number; threadsSource?: 'cli' } {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads must be a whole number >= 1, got "${value}"`);
  return { threads: n, threadsSource: 'cli' };
}

export const THREADS_HELP = `  --threads N   onnxruntime threads per model (default: the experiment's settings.threads, else every core)`;

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** Ctrl-C or SIGTERM in a terminal; the test's AbortController in tests */
  signal?: AbortSignal;
  /** backoff between LLM retries when the server sends no Retry-After (tests shorten it) */
  retryBaseDelayMs?: number;
}

/** " (SIGINT)" when a signal cancelled the command (cliEntry aborts with the signal's name). */
export function signalName(io: CliIo): string {
  const reason: unknown = io.signal?.reason;
  return typeof reason === 'string' && reason.startsWith('SIG') ? ` (${reason})` : '';
}

export function eventPrinter(io: CliIo, json: boolean): (e: EngineEvent) => void {
  if (json) return (e) => io.stdout(JSON.stringify(e) + '\n');
  const lastProgress = new Map<string, number>();
  return (e) => {
    switch (e.type) {
      case 'step-start':
        io.stderr(`▸ ${STEP_TITLES[e.step]}\n`);
        break;
      case 'progress': {
        const now = Date.now();
        if (e.done < e.total && now - (lastProgress.get(e.step) ?? 0) < 1000) break;
        lastProgress.set(e.step, now);
        io.stderr(`  ${e.done}/${e.total}${e.message ? ` ${e.message}` : ''}\n`);
        break;
      }
      case 'step-end':
        io.stderr(`✓ ${STEP_TITLES[e.step]} (${e.seconds.toFixed(1)} s)${e.detail ? `: ${e.detail}` : ''}\n`);
        break;
      case 'log':
        if (e.level !== 'trace' && e.level !== 'debug') io.stderr(`  ${e.level === 'info' ? '' : e.level + ': '}${e.message}\n`);
        break;
      default:
        break;
    }
  };
}

/** The per-group tables, how the candidate was chosen, and every warning of a run. */
export function printRun(io: CliIo, summary: RunSummary): void {
  for (const split of ['val', 'test'] as const) {
    const m = summary.metrics[split];
    if (m) io.stdout(`\n${split}\n${metricsTable(m)}\n`);
  }
  const sel = selectionSummary(summary);
  if (sel) io.stdout(`\n${sel}\n`);
  for (const w of summary.warnings ?? []) io.stdout(`\nwarning (${w.code}): ${w.message} ${w.fix}\n`);
}

/**
 * Inside a Slurm job, onnxruntime's threads = the CPUs the job was given (SLURM_CPUS_PER_TASK), not
 * every core of the node, which other jobs share; --threads still wins.
 */
export function slurmThreads(env: NodeJS.ProcessEnv): { threads?: number; threadsSource?: 'slurm' } {
  const n = Number(env.SLURM_CPUS_PER_TASK);
  return Number.isInteger(n) && n > 0 ? { threads: n, threadsSource: 'slurm' } : {};
}

/** The LLM client settings from the flags and the environment; a bad flag is a usage error (exit 2). */
export function cliLlmSettings(flags: LlmCliFlags, env: NodeJS.ProcessEnv): ReturnType<typeof resolveCliLlmSettings> {
  try {
    return resolveCliLlmSettings(flags, env);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}
