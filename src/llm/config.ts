// CLI settings for the LLM client: flags win over the environment, which wins over the
// defaults. The openai package's own OPENAI_BASE_URL and OPENAI_API_KEY are honoured.
// The key has no flag on purpose: it would end up in shell history.
import {
  DEFAULT_BASE_URL,
  DEFAULT_DEADLINE_MS,
  DEFAULT_FIRST_TIMEOUT_MS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MODEL,
  DEFAULT_TIMEOUT_MS,
  type LlmClientSettings,
} from './generate';

export interface LlmCliFlags {
  baseUrl?: string;
  model?: string;
  /** seconds, as typed on the command line */
  timeout?: string;
  temperature?: string;
  maxRetries?: string;
  /** seconds: a request's timeout until the endpoint has answered once */
  firstTimeout?: string;
  /** seconds: the whole generation */
  deadline?: string;
}

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const nonEmpty = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);

function number(flag: string, raw: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!raw.trim() || !Number.isFinite(n) || !check(n)) throw new ConfigError(`${flag} must be ${what}, got ${JSON.stringify(raw)}.`);
  return n;
}

export function resolveCliLlmSettings(
  flags: LlmCliFlags,
  env: Env = process.env,
): Required<Pick<LlmClientSettings, 'baseURL' | 'model' | 'timeoutMs' | 'maxRetries' | 'firstTimeoutMs' | 'deadlineMs'>> &
  LlmClientSettings {
  const baseURL = nonEmpty(flags.baseUrl) ?? nonEmpty(env['OPENAI_BASE_URL']) ?? DEFAULT_BASE_URL;
  const timeoutS = number('--timeout', flags.timeout, (n) => n > 0, 'a positive number of seconds');
  const firstS = number('--first-timeout', flags.firstTimeout, (n) => n > 0, 'a positive number of seconds');
  const deadlineS = number('--deadline', flags.deadline, (n) => n > 0, 'a positive number of seconds');
  const timeoutMs = timeoutS !== undefined ? Math.round(timeoutS * 1000) : DEFAULT_TIMEOUT_MS;
  return {
    baseURL,
    apiKey: nonEmpty(env['OPENAI_API_KEY']),
    model: nonEmpty(flags.model) ?? nonEmpty(env['TLDR_LLM_MODEL']) ?? DEFAULT_MODEL,
    temperature: number('--temperature', flags.temperature, (n) => n >= 0 && n <= 2, 'a number from 0 to 2'),
    timeoutMs,
    maxRetries:
      number('--max-retries', flags.maxRetries, (n) => Number.isInteger(n) && n >= 0 && n <= 10, 'an integer from 0 to 10') ??
      DEFAULT_MAX_RETRIES,
    firstTimeoutMs: firstS !== undefined ? Math.round(firstS * 1000) : DEFAULT_FIRST_TIMEOUT_MS,
    deadlineMs: deadlineS !== undefined ? Math.round(deadlineS * 1000) : Math.max(DEFAULT_DEADLINE_MS, timeoutMs),
  };
}
