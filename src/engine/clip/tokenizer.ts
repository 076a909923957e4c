// CLIP tokenisation from the export's own tokenizer.json, or its vocab.json + merges.txt
// (@huggingface/tokenizers), with CLIP's context rule: at most 77 ids, and truncation keeps the end token last.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as HfTokenizers from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
// The package is ESM-typed but ships a CommonJS build, which Node's require picks up.
const { Tokenizer } = require('@huggingface/tokenizers') as typeof HfTokenizers;
import { InputError } from '../../shared/errors';
import { clipTokenizerJson } from './bpeTokenizer';

export const CLIP_CONTEXT = 77;

export interface ClipTokenizer {
  /** ids with start and end tokens, truncated to the context length */
  encode(text: string): number[];
  /** true when some token of the text is the unknown token (word-level vocabularies) */
  hasUnknown(text: string): boolean;
  endId: number;
  padId: number;
  unkId: number | undefined;
}

function readTokenizerJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(
      `${file}: cannot read the CLIP tokenizer (${(err as Error).message}). Point models.clip.tokenizer at the export's tokenizer.json.`,
    );
  }
}

/** From a tokenizer.json, or from vocab.json when `merges` (merges.txt) is given. */
export function loadClipTokenizer(file: string, merges?: string, context = CLIP_CONTEXT): ClipTokenizer {
  const json = merges ? clipTokenizerJson(file, merges) : readTokenizerJson(file);
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? JSON.parse(fs.readFileSync(configFile, 'utf8')) : {};
  const tok = new Tokenizer(json, config);
  const empty = tok.encode('').ids;
  if (empty.length < 1)
    throw new InputError(
      `${file}: the tokenizer adds no end token; a CLIP tokenizer.json must have a post-processor that adds start and end tokens.`,
    );
  const endId = empty[empty.length - 1];
  const padToken = typeof config.pad_token === 'string' ? config.pad_token : undefined;
  const padId = (padToken && tok.token_to_id(padToken)) ?? endId;
  const model = json.model as { unk_token?: string } | undefined;
  const unkToken = model?.unk_token ?? (typeof config.unk_token === 'string' ? config.unk_token : undefined);
  const unkId = unkToken ? tok.token_to_id(unkToken) : undefined;
  // CLIP's BPE maps its unk_token to the end token; only a distinct unknown id means "unknown word"
  const distinctUnk = unkId !== undefined && unkId !== endId ? unkId : undefined;

  const encode = (text: string): number[] => {
    const ids = tok.encode(text).ids;
    for (const id of ids) {
      if (!Number.isInteger(id))
        throw new InputError(
          `${file}: "${text}" encodes to a non-integer id (${String(id)}); the tokenizer model type may be unsupported (use BPE or WordPiece).`,
        );
    }
    if (ids.length <= context) return ids;
    return [...ids.slice(0, context - 1), endId];
  };
  return {
    encode,
    hasUnknown: (text) => distinctUnk !== undefined && encode(text).includes(distinctUnk),
    endId,
    padId,
    unkId: distinctUnk,
  };
}
