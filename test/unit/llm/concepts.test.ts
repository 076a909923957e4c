// LLM candidates for discover, against a real local HTTP server: one prompt per class asking for
// co-occurring visual concepts, answers parsed strictly (normalised, de-duplicated, bounded), a
// prose answer still read, and a failing class reported while the others keep their concepts.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { generateConcepts, LlmError, proposeGrouping } from '../../../src/llm/generate';
import { buildConceptPrompt } from '../../../src/llm/prompts';
import {
  startFakeOpenAiServer,
  wordsReply,
  chatReply,
  errorReply,
  userPrompt,
  type FakeOpenAiServer,
} from '../../helpers/fakeOpenAiServer';

const servers: FakeOpenAiServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

test('one request per class; concepts cleaned and de-duplicated; the prompt names the kinds of concepts', async () => {
  const s = await startFakeOpenAiServer();
  servers.push(s);
  s.queue(
    wordsReply(['Ocean', ' ocean ', '1. sandy beach', 'a'.repeat(80), 'water']),
    chatReply('Here are some concepts:\n1. Forest\n2. Tree bark\n3. Moss'),
  );
  const r = await generateConcepts(['landbird', 'waterbird'], { baseURL: s.url, apiKey: 'k', model: 'm', count: 5, retryBaseDelayMs: 5 });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.concepts.landbird, ['ocean', 'sandy beach', 'water']);
  assert.deepEqual(r.concepts.waterbird, ['forest', 'tree bark', 'moss']);
  assert.equal(s.requests.length, 2);
  const p = userPrompt(s.requests[0]!);
  assert.match(p, /co-occur with "landbird"/);
  assert.match(p, /backgrounds and places, textures and materials, colours and lighting, other objects, and attributes of people/);
  assert.match(p, /Do not name "landbird" itself or "waterbird"/);
  assert.equal(buildConceptPrompt(['a', 'b'], 'b', 3).user.includes('exactly 3 entries'), true);
});

test('a failing class is reported, the other keeps its concepts; no key is refused before any request', async () => {
  const s = await startFakeOpenAiServer();
  servers.push(s);
  s.queue(errorReply(400, 'bad request'), wordsReply(['forest']));
  const r = await generateConcepts(['landbird', 'waterbird'], {
    baseURL: s.url,
    apiKey: 'k',
    model: 'm',
    maxRetries: 0,
    retryBaseDelayMs: 5,
  });
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!, /^concepts \/ landbird: /);
  assert.deepEqual(r.concepts.waterbird, ['forest']);
  await assert.rejects(
    generateConcepts(['a', 'b'], { baseURL: s.url, model: 'm' }),
    (e: Error) => e instanceof LlmError && /No API key/.test(e.message),
  );
});

test('a proposed grouping keeps only offered keywords (matched up to case) and values with some; a bad answer is refused', async () => {
  const s = await startFakeOpenAiServer();
  servers.push(s);
  const ranked = { landbird: ['water', 'swamp', 'duck'], waterbird: ['bamboo', 'forest'] };
  s.queue(
    chatReply(
      '```json\n' +
        JSON.stringify({
          name: 'background',
          values: [
            { name: 'water', words: ['Water', 'swamp', 'invented'] },
            { name: 'land', words: ['bamboo', 'forest'] },
            { name: 'animal', words: ['cat'] },
          ],
        }) +
        '\n```',
    ),
    chatReply('I would group them by background.'),
  );
  const opts = { baseURL: s.url, apiKey: 'k', model: 'm', retryBaseDelayMs: 5 };
  const g = await proposeGrouping(['landbird', 'waterbird'], ranked, opts);
  assert.deepEqual(g, {
    name: 'background',
    values: [
      { name: 'water', words: ['water', 'swamp'] },
      { name: 'land', words: ['bamboo', 'forest'] },
    ],
  });
  assert.match(userPrompt(s.requests[0]!), /errors on "landbird": "water", "swamp", "duck"/);
  await assert.rejects(
    proposeGrouping(['landbird', 'waterbird'], ranked, opts),
    (e: Error) => e instanceof LlmError && /could not be used/.test(e.message),
  );
});
