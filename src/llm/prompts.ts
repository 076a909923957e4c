// THE prompts for word generation. Everything the model is asked lives here so the CLI
// (`--show-prompt`) and the editor can show users exactly what is sent.
import type { Task } from '../experiment';
import type { WordListKind } from '../protocol/events';

export interface ListRef {
  kind: WordListKind;
  name: string;
}

/** How the answer is requested: structured output, JSON mode, or a plain list. */
export type AnswerFormat = 'json_schema' | 'json_object' | 'text';

export interface Prompt {
  system: string;
  user: string;
}

export const DEFAULT_WORD_COUNT = 30;

/** Structured-output schema (strict mode needs every property required and no extras). */
export const WORD_LIST_SCHEMA_NAME = 'word_list';
export const wordListJsonSchema = {
  type: 'object',
  properties: {
    words: {
      type: 'array',
      items: { type: 'string' },
      description: 'distinct words or short phrases, one concept each',
    },
  },
  required: ['words'],
  additionalProperties: false,
} as const;

const SYSTEM =
  'You write word lists for a text dataset that is embedded with CLIP ("a photo of a ___.") ' +
  'to debias an image classifier. You answer with concrete, visual, single-concept words or short phrases ' +
  '(one to four words), each naming something a person could see in a photo. ' +
  'No explanations, no duplicates, no near-synonyms of one another, no numbering inside the words.';

const quote = (s: string) => `"${s}"`;
const orList = (xs: readonly string[]) => xs.map(quote).join(', ');

function formatInstruction(format: AnswerFormat, count: number): string {
  switch (format) {
    case 'json_schema':
      return `Answer with a JSON object {"words": [...]} holding exactly ${count} entries.`;
    case 'json_object':
      return `Answer only with a JSON object of the form {"words": ["...", "..."]} holding exactly ${count} entries, and no other text.`;
    case 'text':
      return `Answer with a numbered list of exactly ${count} entries, one per line, and nothing else.`;
  }
}

export function buildPrompt(
  task: Pick<Task, 'classes' | 'spurious'>,
  list: ListRef,
  count: number,
  format: AnswerFormat = 'json_schema',
): Prompt {
  const { classes, spurious } = task;
  const attr = spurious.name;
  let ask: string;
  if (list.kind === 'targets') {
    const others = classes.filter((c) => c !== list.name);
    ask =
      `An image classifier tells apart ${orList(classes)}. Its predictions must not depend on the ${attr} ` +
      `(${orList(spurious.values)}).\n` +
      `List ${count} distinct kinds, varieties or looks of ${quote(list.name)}: words or short phrases that name ` +
      `a specific kind or visible appearance of ${quote(list.name)}, each one on its own fitting "a photo of a ___.".\n` +
      `Describe only the ${quote(list.name)} itself, not its ${attr}: do not mention the ${attr} or any of ${orList(spurious.values)}.` +
      (others.length ? ` Do not name anything that belongs to ${orList(others)}.` : '');
  } else {
    const others = spurious.values.filter((v) => v !== list.name);
    ask =
      `An image classifier tells apart ${orList(classes)}, and the ${attr} (${orList(spurious.values)}) must not affect it.\n` +
      `List ${count} distinct variants of the ${attr} ${quote(list.name)}: words or short phrases that name ` +
      `a specific kind or visible appearance of ${quote(list.name)}, each one on its own fitting "a photo of a ___.".\n` +
      `Do not mention or imply any of ${orList(classes)}` +
      (others.length ? `, and do not name anything that is ${orList(others)}.` : '.');
  }
  return { system: SYSTEM, user: `${ask}\n${formatInstruction(format, count)}` };
}

/** Every list of a task, targets first, in the task's order. */
export function allLists(task: Pick<Task, 'classes' | 'spurious'>): ListRef[] {
  return [
    ...task.classes.map((name) => ({ kind: 'targets' as const, name })),
    ...task.spurious.values.map((name) => ({ kind: 'spurious' as const, name })),
  ];
}

/** Human-readable rendering of the prompts, for `--show-prompt` and the editor. */
export function renderPrompts(task: Pick<Task, 'classes' | 'spurious'>, lists: readonly ListRef[], count: number): string {
  const parts = lists.map((l) => {
    const p = buildPrompt(task, l, count);
    return `=== ${l.kind} / ${l.name} ===\n[system]\n${p.system}\n[user]\n${p.user}\n`;
  });
  const schema = `=== response_format (json_schema "${WORD_LIST_SCHEMA_NAME}", strict) ===\n${JSON.stringify(wordListJsonSchema, null, 2)}\n`;
  return [...parts, schema].join('\n');
}

export const DEFAULT_CONCEPT_COUNT = 40;

const CONCEPT_SYSTEM =
  'You help find what an image classifier may rely on besides the object itself. You answer with concrete, visual, ' +
  'single-concept words or short phrases (one to three words), each naming something a person could see in a photo. ' +
  'No explanations, no duplicates, no numbering inside the words.';

/**
 * For `discover`: visual concepts that could co-occur with a class in photos (backgrounds, places,
 * textures, colours, objects, people attributes). Their B2T scores, not the LLM, decide which matter.
 */
export function buildConceptPrompt(classes: readonly string[], cls: string, count: number, format: AnswerFormat = 'json_schema'): Prompt {
  const others = classes.filter((c) => c !== cls);
  const ask =
    `An image classifier tells apart ${orList(classes)}. It may have learned shortcuts: things that often appear ` +
    `together with ${quote(cls)} in photos but are not ${quote(cls)} itself.\n` +
    `List ${count} distinct visual concepts that could co-occur with ${quote(cls)} in photos: backgrounds and places, ` +
    `textures and materials, colours and lighting, other objects, and attributes of people in the picture. ` +
    `Each must fit "a photo of a ___.".` +
    (others.length ? ` Do not name ${quote(cls)} itself or ${orList(others)}.` : ` Do not name ${quote(cls)} itself.`);
  return { system: CONCEPT_SYSTEM, user: `${ask}\n${formatInstruction(format, count)}` };
}

/**
 * For `discover --propose`: group the keywords ranked for each class's errors into values of one
 * spurious attribute. Only the given keywords may be used; the user edits the proposal.
 */
export function buildGroupingPrompt(classes: readonly string[], ranked: Record<string, readonly string[]>): Prompt {
  const lists = Object.entries(ranked)
    .map(([c, ws]) => `- errors on ${quote(c)}: ${ws.map(quote).join(', ')}`)
    .join('\n');
  return {
    system:
      'You help debias an image classifier. You group keywords into the values of ONE attribute that is not the class ' +
      '(e.g. background: land, water). You answer only with JSON.',
    user:
      `An image classifier tells apart ${orList(classes)}. These keywords match its misclassified images more than its correct ones:\n${lists}\n` +
      `Propose ONE attribute (short name, e.g. "background") and two or more of its values (short names). Put each keyword that names ` +
      `a value of that attribute under that value; leave out keywords that do not fit. Use only the keywords above, spelled as given.\n` +
      `Answer only with a JSON object {"name": "...", "values": [{"name": "...", "words": ["...", "..."]}]}.`,
  };
}
