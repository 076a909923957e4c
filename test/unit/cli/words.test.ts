import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import type { CliIo } from '../../../src/cli/io';

const runWordsCommand = (argv: string[], io: CliIo) => main(['words', ...argv], io);
import {
  startFakeOpenAiServer,
  wordsReply,
  errorReply,
  userPrompt,
  closedPort,
  type FakeOpenAiServer,
} from '../../helpers/fakeOpenAiServer';
import { rawExperiment } from '../llm/experimentFixture';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tldr-llm-words-'));
const servers: FakeOpenAiServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  fs.rmSync(tmp, { recursive: true, force: true });
});
async function server(...args: Parameters<typeof startFakeOpenAiServer>) {
  const s = await startFakeOpenAiServer(...args);
  servers.push(s);
  return s;
}

let n = 0;
/** An experiment file written the way a user might (4-space indent, no trailing newline). */
function expFile(raw: unknown = rawExperiment()): string {
  const f = path.join(tmp, `exp${n++}.tldr.json`);
  fs.writeFileSync(f, JSON.stringify(raw, null, 4));
  return f;
}

function io(extra: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => err.push(s),
      env: { OPENAI_API_KEY: 'k' },
      retryBaseDelayMs: 5,
      ...extra,
    } satisfies CliIo,
  };
}

test('--generate writes the new words atomically, keeps every other field, and prints them', async () => {
  const raw = rawExperiment();
  const f = expFile(raw);
  const s = await server((r) => wordsReply(userPrompt(r).includes('"landbird":') ? ['Blue Jay', 'sparrow'] : ['Mallard']));
  const c = io();
  const code = await runWordsCommand(
    [f, '--generate', '--list', 'landbird', '--list', 'targets:waterbird', '--base-url', s.url, '--model', 'm1', '--count', '3'],
    c.io,
  );
  assert.equal(code, 0, c.err.join(''));
  assert.equal(s.requests.length, 2);
  assert.equal(s.requests[0]!.body.model, 'm1');
  assert.match(userPrompt(s.requests[0]!), /List 3 distinct/);

  const text = fs.readFileSync(f, 'utf8');
  // a minimal edit: one entry inserted after the list's last one, in the file's own 4-space layout
  const before = JSON.stringify(raw, null, 4);
  const at = before.indexOf('}', before.indexOf('"northern flicker"')) + 1;
  const entry = ',\n                {\n                    "text": "blue jay",\n                    "source": "llm"\n                }';
  assert.equal(text, before.slice(0, at) + entry + before.slice(at));
  raw.words.targets.landbird.push({ text: 'blue jay', source: 'llm' });
  assert.deepEqual(JSON.parse(text), raw, 'the new word appended, nothing else changed');
  assert.match(c.out.join(''), /Added 1 words to .*exp\d+\.tldr\.json/);
  assert.match(c.out.join(''), /targets \/ landbird \(\+1\): blue jay/);
  assert.deepEqual(
    fs.readdirSync(tmp).filter((x) => x.endsWith('.tmp')),
    [],
    'no temp file left behind',
  );
});

test('--json prints the added words and errors as JSON', async () => {
  const f = expFile();
  const s = await server(() => wordsReply(['Coral Reef']));
  const c = io();
  const code = await runWordsCommand([f, '--generate', '--json', '--list', 'water', '--base-url', s.url], c.io);
  assert.equal(code, 0);
  const out = JSON.parse(c.out.join(''));
  assert.equal(out.written, true);
  assert.deepEqual(out.added, [{ kind: 'spurious', name: 'water', text: 'coral reef' }]);
  assert.deepEqual(out.errors, []);
});

test('500 three times: exit 1, a clear error, and the experiment file byte-for-byte unchanged', async () => {
  const f = expFile();
  const before = fs.readFileSync(f);
  const s = await server(() => errorReply(500, 'internal error'));
  const c = io();
  const code = await runWordsCommand([f, '--generate', '--list', 'land', '--base-url', s.url], c.io);
  assert.equal(code, 1);
  assert.equal(s.requests.length, 3);
  assert.match(c.err.join(''), /spurious \/ land: .*HTTP 500: internal error after 2 retries/);
  assert.match(c.out.join(''), /No words added/);
  assert.deepEqual(fs.readFileSync(f), before);
});

test('cancel mid-request: exit 130 and nothing written', async () => {
  const f = expFile();
  const before = fs.readFileSync(f);
  const s = await server(() => ({ hang: true }));
  const ac = new AbortController();
  void s.waitForRequests(1).then(() => ac.abort());
  const c = io({ signal: ac.signal });
  const code = await runWordsCommand([f, '--generate', '--base-url', s.url], c.io);
  assert.equal(code, 130);
  assert.match(c.err.join(''), /Cancelled; nothing was left half-written/);
  assert.deepEqual(fs.readFileSync(f), before);
});

test('a file edited while waiting for the LLM is not overwritten', async () => {
  const f = expFile();
  const s = await server(() => {
    fs.appendFileSync(f, '\n');
    return wordsReply(['lagoon']);
  });
  const c = io();
  const code = await runWordsCommand([f, '--generate', '--list', 'water', '--base-url', s.url], c.io);
  assert.equal(code, 1);
  assert.match(c.err.join(''), /changed while this command ran; it was not written/);
  assert.ok(!fs.readFileSync(f, 'utf8').includes('lagoon'));
});

test('missing key: exit 2 with what to set; unreachable base URL: exit 1 naming the URL and --base-url', async () => {
  const f = expFile();
  const c1 = io({ env: {} });
  assert.equal(await runWordsCommand([f, '--generate', '--base-url', 'http://127.0.0.1:9/v1'], c1.io), 2);
  assert.match(c1.err.join(''), /OPENAI_API_KEY environment variable/);

  const url = `http://127.0.0.1:${await closedPort()}/v1`;
  const c2 = io({ env: { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: url } });
  assert.equal(await runWordsCommand([f, '--generate'], c2.io), 1);
  const err = c2.err.join('');
  assert.ok(err.includes(`Cannot reach the LLM endpoint ${url}`), err);
  assert.match(err, /--base-url \/ OPENAI_BASE_URL/);
});

test('an invalid experiment prints the JSON path of each problem and exits 2', async () => {
  const raw = rawExperiment();
  delete raw.task.classes;
  raw.words.spurious.land.push({ text: '' });
  const f = expFile(raw);
  const c = io();
  assert.equal(await runWordsCommand([f, '--generate'], c.io), 2);
  const err = c.err.join('');
  assert.match(err, /\$\.task\.classes/);
  assert.match(err, /\$\.words\.spurious\.land\[1\]\.text: a word must not be empty/);
});

test('usage errors exit 2: unknown flag, unknown list, bad count, no file', async () => {
  const f = expFile();
  for (const argv of [[f, '--bogus'], [f, '--list', 'sky'], [f, '--generate', '--count', '0'], []]) {
    const c = io();
    assert.equal(await runWordsCommand(argv, c.io), 2, argv.join(' '));
    assert.ok(c.err.join('').length > 0);
  }
});

test('--show-prompt prints the prompts and the schema without contacting the endpoint', async () => {
  const f = expFile();
  const c = io({ env: {} });
  assert.equal(await runWordsCommand([f, '--show-prompt', '--list', 'waterbird', '--count', '12'], c.io), 0);
  const out = c.out.join('');
  assert.match(out, /=== targets \/ waterbird ===/);
  assert.match(out, /List 12 distinct kinds, varieties or looks of "waterbird"/);
  assert.match(out, /"additionalProperties": false/);
});

test('without --generate it lists the words with their source and lock', async () => {
  const f = expFile();
  const c = io();
  assert.equal(await runWordsCommand([f, '--list', 'landbird'], c.io), 0);
  assert.deepEqual(c.out, ['targets / landbird (2 words)\n', '  Sparrow  [user]\n', '  northern flicker  [locked]\n']);
});
