// The OpenAI / open_clip tokenizer files (vocab.json + merges.txt) as the tokenizer.json that
// transformers' CLIPTokenizerFast would save for them (its CLIPConverter), built in memory so
// @huggingface/tokenizers runs them exactly like a Hugging Face export's tokenizer.json.
import * as fs from 'node:fs';
import { InputError } from '../../shared/errors';

const START = '<|startoftext|>';
const END = '<|endoftext|>';
// openai/CLIP simple_tokenizer.py's pattern, as CLIPConverter writes it
const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

function readVocab(file: string): Record<string, number> {
  let vocab: unknown;
  try {
    vocab = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: cannot read the CLIP vocabulary (${(err as Error).message}).`);
  }
  const ok =
    typeof vocab === 'object' &&
    vocab !== null &&
    !Array.isArray(vocab) &&
    Object.values(vocab).every((id) => Number.isInteger(id) && (id as number) >= 0);
  if (!ok) throw new InputError(`${file}: not a vocabulary; vocab.json maps each token to its integer id ({"a</w>": 320, ...}).`);
  const v = vocab as Record<string, number>;
  for (const special of [START, END]) {
    if (!(special in v))
      throw new InputError(
        `${file}: has no "${special}" token, so it is not a CLIP vocabulary. Use the vocab.json of a CLIP export (or its tokenizer.json).`,
      );
  }
  return v;
}

function readMerges(file: string, vocab: Record<string, number>): [string, string][] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read the CLIP merges (${(err as Error).message}).`);
  }
  const merges: [string, string][] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || !(parts[0] + parts[1] in vocab)) {
      throw new InputError(
        `${file}:${i + 1}: "${line}" is not a merge of this vocabulary (two tokens separated by one space whose join is in vocab.json). Use the merges.txt that came with the vocab.json.`,
      );
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/** tokenizer.json content equivalent to the given vocab.json and merges.txt. */
export function clipTokenizerJson(vocabFile: string, mergesFile: string): Record<string, unknown> {
  const vocab = readVocab(vocabFile);
  const merges = readMerges(mergesFile, vocab);
  const special = (content: string, normalized: boolean) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(START, true), special(END, false)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [END, vocab[END]],
      cls: [START, vocab[START]],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: END,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
