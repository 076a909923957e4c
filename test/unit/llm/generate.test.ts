import { test, after } from 'node:test';
import { settlesBeforeHang } from '../../helpers/hang';
import * as assert from 'node:assert/strict';
import { generateWords, LlmError, type GenerateOptions } from '../../../src/llm/generate';
import { buildPrompt, wordListJsonSchema } from '../../../src/llm/prompts';
import {
  startFakeOpenAiServer,
  wordsReply,
  chatReply,
  errorReply,
  userPrompt,
  closedPort,
  type FakeOpenAiServer,
  type RecordedRequest,
} from '../../helpers/fakeOpenAiServer';
import { experiment } from './experimentFixture';

const KEY = 'test-secret-key-123';
const servers: FakeOpenAiServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function server(...args: Parameters<typeof startFakeOpenAiServer>) {
  const s = await startFakeOpenAiServer(...args);
  servers.push(s);
  return s;
}
const opts = (s: FakeOpenAiServer, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
  baseURL: s.url,
  apiKey: KEY,
  model: 'fake-model',
  count: 5,
  retryBaseDelayMs: 5,
  ...extra,
});
/** which list a request is for, read back from the prompt */
const listOf = (r: RecordedRequest) => /(?:of|background) "([^"]+)":/.exec(userPrompt(r))?.[1];

test('a structured answer adds normalised, de-duplicated words to the right lists; user and locked words untouched', async () => {
  const exp = experiment();
  const answers: Record<string, string[]> = {
    landbird: ['  1. House Sparrow ', '"Blue Jay"', 'sparrow', 'Northern  Flicker', 'blue jay', 'Mallard'],
    waterbird: ['Snow Goose', 'Canvasback'],
    land: ['Bamboo Forest', 'PINE FOREST', 'snow goose'],
    water: ['Ocean', 'Lake.'],
  };
  const s = await server((r) => wordsReply(answers[listOf(r)!]!));
  const before = structuredClone(exp.words);
  const progress: string[] = [];
  const res = await generateWords(
    exp.task,
    exp.words,
    opts(s, { temperature: 0.3, onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.list.name}`) }),
  );
  assert.deepEqual(progress, ['1/4 landbird', '2/4 waterbird', '3/4 land', '4/4 water']);
  assert.equal(s.requests[0]!.body.temperature, 0.3);

  assert.deepEqual(res.errors, []);
  assert.deepEqual(res.words.targets.landbird, [
    ...before.targets.landbird!,
    { text: 'house sparrow', source: 'llm' },
    { text: 'blue jay', source: 'llm' },
  ]);
  assert.equal(res.words.targets.landbird![0], exp.words.targets.landbird![0], 'existing entries are kept as they are');
  assert.deepEqual(
    res.words.targets.waterbird!.map((w) => w.text),
    ['mallard', 'snow goose', 'canvasback'],
  );
  assert.deepEqual(res.words.spurious.land, [
    { text: 'pine forest', source: 'user' },
    { text: 'bamboo forest', source: 'llm' },
  ]);
  assert.deepEqual(
    res.words.spurious.water!.map((w) => w.text),
    ['ocean', 'lake'],
  );
  assert.deepEqual(exp.words, before, 'the input lists are not mutated');
  assert.deepEqual(res.added, [
    { kind: 'targets', name: 'landbird', text: 'house sparrow' },
    { kind: 'targets', name: 'landbird', text: 'blue jay' },
    { kind: 'targets', name: 'waterbird', text: 'snow goose' },
    { kind: 'targets', name: 'waterbird', text: 'canvasback' },
    { kind: 'spurious', name: 'land', text: 'bamboo forest' },
    { kind: 'spurious', name: 'water', text: 'ocean' },
    { kind: 'spurious', name: 'water', text: 'lake' },
  ]);
});

test('the request carries the model, the schema and the prompt built from the task', async () => {
  const exp = experiment();
  const s = await server(() => wordsReply(['robin']));
  await generateWords(
    exp.task,
    exp.words,
    opts(s, {
      count: 7,
      lists: [
        { kind: 'targets', name: 'waterbird' },
        { kind: 'spurious', name: 'water' },
      ],
    }),
  );
  assert.equal(s.requests.length, 2);
  const [t, sp] = s.requests as [RecordedRequest, RecordedRequest];
  assert.equal(t.method, 'POST');
  assert.equal(t.path, '/v1/chat/completions');
  assert.equal(t.headers.authorization, `Bearer ${KEY}`);
  assert.equal(t.body.model, 'fake-model');
  assert.equal('temperature' in t.body, false, 'no temperature unless set');
  assert.deepEqual(t.body.response_format, {
    type: 'json_schema',
    json_schema: { name: 'word_list', strict: true, schema: wordListJsonSchema },
  });
  assert.deepEqual(t.body.messages[1], { role: 'user', content: buildPrompt(exp.task, { kind: 'targets', name: 'waterbird' }, 7).user });
  const tp = userPrompt(t);
  for (const s of ['"waterbird"', '"landbird"', 'background', '"land"', '"water"', '7'])
    assert.ok(tp.includes(s), `target prompt mentions ${s}: ${tp}`);
  assert.match(tp, /kinds, varieties or looks of "waterbird"/);
  assert.match(userPrompt(sp), /variants of the background "water"/);
  assert.match(userPrompt(sp), /Do not mention or imply any of "landbird", "waterbird"/);
});

test('lowercaseWords: false keeps the case but still de-duplicates case-insensitively', async () => {
  const exp = experiment();
  exp.task.lowercaseWords = false;
  const s = await server(() => wordsReply(['House Sparrow', 'SPARROW', 'house sparrow']));
  const res = await generateWords(exp.task, exp.words, opts(s, { lists: [{ kind: 'targets', name: 'landbird' }] }));
  assert.deepEqual(
    res.added.map((a) => a.text),
    ['House Sparrow'],
  );
});

test('an endpoint that rejects json_schema with HTTP 400 is asked again in JSON mode, and remembered', async () => {
  const exp = experiment();
  const s = await server((r) =>
    r.body.response_format?.type === 'json_schema'
      ? errorReply(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", {
          param: 'response_format',
        })
      : chatReply(JSON.stringify({ words: [`${listOf(r)} one`] })),
  );
  const logs: string[] = [];
  const res = await generateWords(
    exp.task,
    exp.words,
    opts(s, {
      lists: [
        { kind: 'targets', name: 'landbird' },
        { kind: 'spurious', name: 'water' },
      ],
      onLog: (m) => logs.push(m),
    }),
  );
  assert.deepEqual(res.errors, []);
  assert.deepEqual(
    res.added.map((a) => a.text),
    ['landbird one', 'water one'],
  );
  assert.deepEqual(
    s.requests.map((r) => r.body.response_format?.type),
    ['json_schema', 'json_object', 'json_object'],
  );
  assert.match(userPrompt(s.requests[1]!), /JSON object/, 'JSON mode needs the word JSON in the prompt');
  assert.ok(logs.some((l) => /refused response_format json_schema/.test(l)));
});

test('an endpoint that refuses every response_format and answers in prose with a numbered list still yields words', async () => {
  const exp = experiment();
  const prose =
    'Sure! Here are some kinds of landbirds:\n\n1. **American Robin** - a common thrush\n2. Blue Jay\n3. "Northern Cardinal"\n\nLet me know if you want more.';
  const s = await server((r) => (r.body.response_format ? errorReply(400, 'response_format is not supported') : chatReply(prose)));
  const res = await generateWords(exp.task, exp.words, opts(s, { lists: [{ kind: 'targets', name: 'landbird' }] }));
  assert.deepEqual(
    res.added.map((a) => a.text),
    ['american robin', 'blue jay', 'northern cardinal'],
  );
  assert.deepEqual(
    s.requests.map((r) => r.body.response_format?.type),
    ['json_schema', 'json_object', undefined],
  );
  assert.match(userPrompt(s.requests[2]!), /numbered list/);
});

test('a server that ignores json_schema and answers in prose still yields words', async () => {
  const exp = experiment();
  const s = await server(() => chatReply('Here you go:\n- ocean\n- coral reef\n- mangrove swamp'));
  const res = await generateWords(exp.task, exp.words, opts(s, { lists: [{ kind: 'spurious', name: 'water' }] }));
  assert.deepEqual(
    res.added.map((a) => a.text),
    ['ocean', 'coral reef', 'mangrove swamp'],
  );
  assert.equal(s.requests.length, 1);
});

test('429 with Retry-After is retried after the time the server asked for, then succeeds', async () => {
  const exp = experiment();
  const s = await server(() => wordsReply(['ocean']));
  s.queue(errorReply(429, 'Rate limit reached', { type: 'rate_limit_exceeded' }, { 'retry-after': '1' }));
  const logs: string[] = [];
  const res = await generateWords(
    exp.task,
    exp.words,
    opts(s, { lists: [{ kind: 'spurious', name: 'water' }], retryBaseDelayMs: 1, onLog: (m) => logs.push(m) }),
  );
  assert.deepEqual(
    res.added.map((a) => a.text),
    ['ocean'],
  );
  assert.equal(s.requests.length, 2);
  const waited = s.requests[1]!.at - s.requests[0]!.at;
  assert.ok(waited >= 900, `waited ${waited} ms for Retry-After: 1`);
  assert.ok(
    logs.some((l) => /HTTP 429; retry 1 of 2 .*Retry-After/.test(l)),
    logs.join('\n'),
  );
});

test('500 on every attempt: maxRetries + 1 requests, a clear per-list error, and the other lists still tried', async () => {
  const exp = experiment();
  const s = await server((r) => (listOf(r) === 'landbird' ? errorReply(500, 'upstream exploded') : wordsReply(['snow goose'])));
  const res = await generateWords(
    exp.task,
    exp.words,
    opts(s, {
      lists: [
        { kind: 'targets', name: 'landbird' },
        { kind: 'targets', name: 'waterbird' },
      ],
    }),
  );
  assert.equal(s.requests.filter((r) => listOf(r) === 'landbird').length, 3);
  assert.equal(res.errors.length, 1);
  assert.match(res.errors[0]!.message, /HTTP 500: upstream exploded after 2 retries/);
  assert.deepEqual(
    res.added,
    [{ kind: 'targets', name: 'waterbird', text: 'snow goose' }],
    'a failure in one list keeps what the others got',
  );
});

test('a hanging endpoint: the timeout fires, is retried, and is reported with the setting to raise', async () => {
  const exp = experiment();
  const s = await server(() => ({ hang: true }));
  const res = await generateWords(
    exp.task,
    exp.words,
    // a timeout long enough that a busy machine's event loop still reads each try before it is aborted
    opts(s, { timeoutMs: 1500, maxRetries: 1, lists: [{ kind: 'spurious', name: 'land' }] }),
  );
  assert.equal(s.requests.length, 2, 'the timed-out request was retried once');
  assert.match(res.errors[0]!.message, /No answer from .*\/chat\/completions \(model "fake-model"\) within 1500 ms, on any of 2 tries/);
  assert.match(res.errors[0]!.message, /--first-timeout.*tldr\.llm\.timeout.*--timeout/);
});

test('an endpoint that has answered, then hangs: the full timeout, retried, and the other lists still tried', async () => {
  const exp = experiment();
  const s = await server((r) => (listOf(r) === 'land' ? { hang: true } : wordsReply([listOf(r) === 'water' ? 'ocean' : 'robin'])));
  const res = await generateWords(
    exp.task,
    exp.words,
    opts(s, {
      timeoutMs: 1500,
      firstTimeoutMs: 100,
      maxRetries: 1,
      lists: [
        { kind: 'spurious', name: 'water' },
        { kind: 'spurious', name: 'land' },
        { kind: 'targets', name: 'landbird' },
      ],
    }),
  );
  assert.equal(s.requests.filter((r) => listOf(r) === 'land').length, 2);
  assert.match(res.errors[0]!.message, /No answer from .*\/chat\/completions within 1500 ms \(after 1 retries\)/);
  assert.deepEqual(
    res.added.map((a) => a.text),
    ['ocean', 'robin'],
    'the list after the hanging one is still asked',
  );
});

test('a never-answering endpoint fails at the first-request timeout and no other list is tried', async () => {
  const exp = experiment();
  const s = await server(() => ({ hang: true }));
  const res = await settlesBeforeHang(
    generateWords(exp.task, exp.words, opts(s, { timeoutMs: 600_000, firstTimeoutMs: 1000, maxRetries: 2 })),
    'the first-request timeout',
  );
  assert.equal(s.requests.length, 3, 'one list, three tries');
  assert.ok(res.errors.slice(1).every((e) => /not attempted/.test(e.message)));
});

test('the deadline ends the whole generation; lists done before it keep their words', async () => {
  const exp = experiment();
  const s = await server((r) => (listOf(r) === 'water' ? wordsReply(['ocean']) : { hang: true }));
  const res = await settlesBeforeHang(
    generateWords(
      exp.task,
      exp.words,
      opts(s, {
        timeoutMs: 600_000,
        firstTimeoutMs: 600_000,
        deadlineMs: 500,
        lists: [
          { kind: 'spurious', name: 'water' },
          { kind: 'spurious', name: 'land' },
          { kind: 'targets', name: 'landbird' },
        ],
      }),
    ),
    'the deadline',
  );
  assert.deepEqual(
    res.added.map((a) => a.text),
    ['ocean'],
  );
  assert.match(res.errors[0]!.message, /no word list within the deadline of 0\.5 s .*--deadline/);
  assert.match(res.errors[1]!.message, /not attempted: the deadline/);
});

test('garbage, HTML and prose answers are refused with the endpoint, the model and the start of the answer', async () => {
  const exp = experiment();
  for (const [answer, why] of [
    ['Sure!!! here you go: <<<%%% not json {{{ lorem ipsum', /not a list of short phrases/],
    ['<!DOCTYPE html><html><body><h1>Login</h1></body></html>', /HTML page/],
    ['{"error": "quota"}', /JSON, but not the requested/],
  ] as const) {
    const s = await server(() => chatReply(answer));
    const res = await generateWords(exp.task, exp.words, opts(s, { lists: [{ kind: 'spurious', name: 'land' }] }));
    assert.equal(res.added.length, 0, answer);
    assert.match(res.errors[0]!.message, why);
    assert.ok(res.errors[0]!.message.includes(`${s.url}/chat/completions (model "fake-model")`), res.errors[0]!.message);
    assert.ok(res.errors[0]!.message.includes(JSON.stringify(answer.slice(0, 20)).slice(0, -1)), res.errors[0]!.message);
  }
});

test('a 200 whose body is an HTML page (not a chat completion) says so and stops', async () => {
  const exp = experiment();
  const s = await server(() => ({
    headers: { 'content-type': 'text/html' },
    text: '<html><head><title>Proxy</title></head><body>sign in</body></html>',
  }));
  const res = await generateWords(exp.task, exp.words, opts(s));
  assert.match(res.errors[0]!.message, /did not answer with a chat completion but with an HTML page/);
  assert.equal(s.requests.length, 1, 'fatal: the other lists are not tried');
});

test('retries never pile listeners on the signal of the caller (no MaxListenersExceededWarning)', async () => {
  const exp = experiment();
  const s = await server(() => errorReply(500, 'down'));
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const ac = new AbortController();
  try {
    await generateWords(exp.task, exp.words, opts(s, { signal: ac.signal, maxRetries: 4, retryBaseDelayMs: 1 }));
  } finally {
    await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
    process.off('warning', onWarning);
  }
  assert.ok(s.requests.length >= 20, `${s.requests.length} requests`);
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning'),
    [],
  );
});

test('cancel mid-request: AbortError, no result, even when an earlier list already succeeded', async () => {
  const exp = experiment();
  const s = await server((r) => (listOf(r) === 'landbird' ? wordsReply(['robin']) : { hang: true }));
  const ac = new AbortController();
  void s.waitForRequests(2).then(() => ac.abort());
  // with a request timeout of 10 minutes, only the cancel can end this before the hang bound
  await assert.rejects(
    settlesBeforeHang(generateWords(exp.task, exp.words, opts(s, { signal: ac.signal, timeoutMs: 600_000 })), 'the cancel'),
    (e: Error) => e.name === 'AbortError',
  );
  assert.equal(s.requests.length, 2);
});

test('cancel during a retry backoff stops at once', async () => {
  const exp = experiment();
  const s = await server(() => errorReply(503, 'busy', {}, { 'retry-after': '600' }));
  const ac = new AbortController();
  void s.waitForRequests(1).then(() => setTimeout(() => ac.abort(), 50));
  // the server asks for 10 minutes of backoff (capped at 60 s): only the cancel ends this before the hang bound
  await assert.rejects(
    settlesBeforeHang(generateWords(exp.task, exp.words, opts(s, { signal: ac.signal })), 'the cancel during the backoff'),
    {
      name: 'AbortError',
    },
  );
});

test('missing key: says where to set it, and sends nothing', async () => {
  const exp = experiment();
  const s = await server(() => wordsReply(['x']));
  for (const apiKey of [undefined, '  ']) {
    await assert.rejects(generateWords(exp.task, exp.words, opts(s, { apiKey })), (e: unknown) => {
      assert.ok(e instanceof LlmError);
      assert.equal(e.code, 'missing-key');
      assert.match(e.message, /"TLDR: Set API Key" in VS Code/);
      assert.match(e.message, /OPENAI_API_KEY environment variable for the CLI/);
      assert.match(e.message, /Ollama/);
      return true;
    });
  }
  assert.equal(s.requests.length, 0);
});

test('unreachable base URL: names the URL and the setting, and does not try the other lists', async () => {
  const exp = experiment();
  const baseURL = `http://127.0.0.1:${await closedPort()}/v1`;
  // a retry would wait 10 minutes first: settling before the hang bound means there was none
  const res = await settlesBeforeHang(
    generateWords(exp.task, exp.words, { baseURL, apiKey: KEY, model: 'm', retryBaseDelayMs: 600_000 }),
    'giving up on a refused connection',
  );
  assert.equal(res.added.length, 0);
  assert.equal(res.errors.length, 4);
  const msg = res.errors[0]!.message;
  assert.ok(msg.includes(baseURL), msg);
  assert.match(msg, /ECONNREFUSED/);
  assert.match(msg, /tldr\.llm\.baseUrl/);
  assert.match(msg, /--base-url \/ OPENAI_BASE_URL/);
  assert.match(res.errors[1]!.message, /not attempted/);
});

test('unknown model (404) names the model and the setting', async () => {
  const exp = experiment();
  const s = await server(() =>
    errorReply(404, 'The model `nope` does not exist or you do not have access to it.', { code: 'model_not_found' }),
  );
  const res = await generateWords(exp.task, exp.words, opts(s, { model: 'nope' }));
  assert.equal(s.requests.length, 1, '404 is neither retried nor repeated for other lists');
  assert.match(res.errors[0]!.message, /Unknown model "nope"/);
  assert.match(res.errors[0]!.message, /tldr\.llm\.model.*--model \/ TLDR_LLM_MODEL/);
});

test('an answer that is not a word list is a clear per-list error', async () => {
  const exp = experiment();
  const s = await server(() => chatReply('I cannot help with that request.'));
  const res = await generateWords(exp.task, exp.words, opts(s, { lists: [{ kind: 'spurious', name: 'land' }] }));
  assert.equal(res.added.length, 0);
  assert.match(res.errors[0]!.message, /could not be read as a word list .*I cannot help/);
});

test('the API key never appears in logs or messages, even when the server echoes it', async () => {
  const exp = experiment();
  const s = await server(() => errorReply(401, `Incorrect API key provided: ${KEY}.`));
  const logs: string[] = [];
  const res = await generateWords(exp.task, exp.words, opts(s, { onLog: (m) => logs.push(m) }));
  const all = [...logs, ...res.errors.map((e) => e.message)].join('\n');
  assert.ok(!all.includes(KEY), all);
  assert.match(res.errors[0]!.message, /rejected the API key \(HTTP 401/);
  assert.match(res.errors[0]!.message, /TLDR: Set API Key/);
});

test('an unknown list name is rejected before any request', async () => {
  const exp = experiment();
  await assert.rejects(
    generateWords(exp.task, exp.words, { apiKey: KEY, model: 'm', lists: [{ kind: 'spurious', name: 'sky' }] }),
    /"sky" is not a value of background/,
  );
});

test('a query in the base URL (Azure api-version) is sent on the request, and messages show the bare URL', async () => {
  const exp = experiment();
  const s = await server(() => errorReply(500, 'down'));
  const res = await generateWords(
    exp.task,
    exp.words,
    opts(s, { baseURL: `${s.url}/deployments/dep?api-version=2024-10-21`, maxRetries: 0, lists: [{ kind: 'spurious', name: 'land' }] }),
  );
  assert.equal(s.requests[0]!.path, '/v1/deployments/dep/chat/completions?api-version=2024-10-21');
  assert.ok(res.errors[0]!.message.startsWith(`${s.url}/deployments/dep/chat/completions failed with HTTP 500`), res.errors[0]!.message);
});

test('a base URL that is not http(s) is rejected with the setting to fix', async () => {
  const exp = experiment();
  await assert.rejects(
    generateWords(exp.task, exp.words, { baseURL: 'localhost:11434', apiKey: KEY, model: 'm' }),
    /not an http\(s\) URL. Set it with the setting tldr\.llm\.baseUrl/,
  );
});
