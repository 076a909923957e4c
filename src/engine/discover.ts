// `discover` as one call: candidates merged from the caller's words, the LLM's words (asked by
// the caller: the engine never talks to an LLM) and the built-in list; the step; the result
// written through the run store.
import type { Discovery } from '../protocol/discover';
import { loadExperiment } from '../experiment';
import type { EngineOptions } from './options';
import { createStepContext } from './steps/context';
import { DEFAULT_DISCOVER_SETTINGS, discoverStep, type DiscoverSettings } from './steps/discover';
import { BUILTIN_CONCEPTS, mergeCandidates } from './text/candidates';
import { newDiscoveryId, saveDiscovery } from './runs/store';

export interface DiscoverOptions extends EngineOptions, Partial<DiscoverSettings> {
  /** the user's own keywords */
  words?: readonly string[];
  /** keywords an LLM proposed (see src/llm/discover.ts) */
  llmWords?: readonly string[];
  /** score the built-in list of visual concepts too (default true) */
  builtin?: boolean;
}

export async function runDiscover(file: string, opts: DiscoverOptions = {}): Promise<{ path: string; discovery: Discovery }> {
  const t0 = performance.now();
  const loaded = loadExperiment(file);
  if (opts.seed !== undefined) loaded.experiment.settings.seed = opts.seed;
  const lists = [
    { source: 'user' as const, words: opts.words ?? [] },
    { source: 'llm' as const, words: opts.llmWords ?? [] },
    { source: 'builtin' as const, words: opts.builtin === false ? [] : BUILTIN_CONCEPTS },
  ];
  const candidates = mergeCandidates(lists);
  const ctx = createStepContext(loaded, opts);
  ctx.log(
    'info',
    `${candidates.length} candidate keywords (${lists.map((l) => `${l.words.length} ${l.source === 'builtin' ? 'built-in' : l.source}`).join(', ')})`,
    'discover',
  );
  const settings: DiscoverSettings = {
    resamples: opts.resamples ?? DEFAULT_DISCOVER_SETTINGS.resamples,
    level: opts.level ?? DEFAULT_DISCOVER_SETTINGS.level,
    gallery: opts.gallery ?? DEFAULT_DISCOVER_SETTINGS.gallery,
  };
  const result = await discoverStep(ctx, candidates, settings);
  const discovery: Discovery = {
    ...result,
    id: newDiscoveryId(),
    experiment: loaded.file,
    createdAt: new Date().toISOString(),
    sources: Object.fromEntries(lists.map((l) => [l.source, l.words.length])),
    seconds: (performance.now() - t0) / 1000,
  };
  const path = await saveDiscovery(discovery);
  ctx.log('info', `discovery written to ${path}`, 'discover');
  return { path, discovery };
}
