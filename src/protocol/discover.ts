// What the discover step leaves in `.tldr/discover/<id>.json`, as zod schemas: the engine writes
// it through its run store, the CLI, the worker and the editor read it back validated. It ranks
// candidate keywords per class by the B2T score (Kim et al., CVPR 2024): the mean CLIP similarity
// of a keyword to the class's misclassified val images minus the mean to its correctly
// classified ones, with a seeded bootstrap interval.
import { z } from 'zod';

export const CANDIDATE_SOURCES = ['llm', 'user', 'builtin'] as const;
export type CandidateSource = (typeof CANDIDATE_SOURCES)[number];

export const keywordScoreSchema = z.object({
  keyword: z.string(),
  sources: z.array(z.enum(CANDIDATE_SOURCES)),
  /** mean cos(keyword, misclassified) - mean cos(keyword, correct) */
  score: z.number(),
  /** bootstrap percentile interval of the score */
  ci: z.tuple([z.number(), z.number()]),
  meanMisclassified: z.number(),
  meanCorrect: z.number(),
  /** rows of `images`: the misclassified images of this class most similar to the keyword, best first */
  topMisclassified: z.array(z.number().int()),
  /** rows of `images`: the correct images of this class most similar to the keyword, for contrast */
  topCorrect: z.array(z.number().int()),
});
export type KeywordScore = z.infer<typeof keywordScoreSchema>;

export const classDiscoverySchema = z.object({
  class: z.string(),
  index: z.number().int(),
  correct: z.number().int(),
  misclassified: z.number().int(),
  /** why this class has no ranking (no errors, no correct images) */
  note: z.string().optional(),
  /** ranked, highest score first */
  keywords: z.array(keywordScoreSchema),
});
export type ClassDiscovery = z.infer<typeof classDiscoverySchema>;

export const discoveryImageSchema = z.object({
  /** absolute path of the val image */
  path: z.string(),
  label: z.number().int(),
  predicted: z.number().int(),
});

export const discoverySchema = z.object({
  version: z.literal(1),
  id: z.string(),
  experiment: z.string(),
  createdAt: z.string(),
  seed: z.number().int(),
  bootstrap: z.object({ resamples: z.number().int(), level: z.number() }),
  templates: z.number().int(),
  classes: z.array(classDiscoverySchema),
  images: z.array(discoveryImageSchema),
  /** candidates that were not scored, and why (e.g. unknown to the CLIP tokenizer) */
  skipped: z.array(z.object({ keyword: z.string(), reason: z.string() })),
  /** how many candidates each source gave (before de-duplication) */
  sources: z.record(z.string(), z.number().int()),
  warnings: z.array(z.string()),
  seconds: z.number(),
});
export type Discovery = z.infer<typeof discoverySchema>;

/** A keyword as a user groups it: one value of the spurious attribute and its words. */
export interface SpuriousGrouping {
  /** the attribute's name, e.g. "background" */
  name: string;
  values: { name: string; words: string[] }[];
}
