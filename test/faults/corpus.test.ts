// The fault corpus (issue 13): bad input and faults a demanding user meets, one row each, run
// against the real CLI on copies of the small demo world. Each row asserts the exit code and
// the message; the harness adds what every row must keep: no stack trace, the experiment file
// and the models unchanged, a readable cache, no temp file left. The results table is written
// to test/faults/RESULTS.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/paths';
import { writeVisionModel } from '../helpers/onnxBuild';
import {
  startFakeOpenAiServer,
  chatReply,
  wordsReply,
  errorReply,
  closedPort,
  type FakeOpenAiServer,
  type Handler,
} from '../helpers/fakeOpenAiServer';
import {
  buildBaseWorld,
  giveToNobody,
  permissionSkip,
  removeTempRoot,
  resultsTable,
  runCase,
  spawnCli,
  tempFiles,
  type FaultCase,
  type Outcome,
  type Row,
  type World,
} from './harness';

let llm: FakeOpenAiServer;
let baseMetrics: unknown;
/** the results table's rows, in the corpus's order */
const rows: Array<Row | undefined> = [];

/** The words command against the test's LLM server, which answers with `handler`. */
const generate =
  (handler: Handler, ...extra: string[]) =>
  (w: World) => {
    llm.setHandler(handler);
    return {
      args: ['words', w.exp, '--generate', '--base-url', llm.url, '--model', 'fake-model', '--max-retries', '1', ...extra],
      env: { OPENAI_API_KEY: 'local' },
    };
  };

const runJsonOf = (out: Outcome) => {
  const line = out.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"type":"result"'));
  assert.ok(line, 'a result event');
  return JSON.parse(fs.readFileSync(path.join(JSON.parse(line).summary.runDir, 'run.json'), 'utf8'));
};

/** metrics as JSON has them (NaN as null), for comparing */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

/** The run.json files of a world's runs. */
const runJsons = (w: World) => {
  const root = w.at('.tldr', 'runs');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).map((id) => JSON.parse(fs.readFileSync(path.join(root, id, 'run.json'), 'utf8')));
};

/** After a cancelled run: the next one reads what it encoded, encodes only the rest, and gets the same result. */
async function exactResume(w: World): Promise<void> {
  const next = await spawnCli({ args: ['run', w.exp, '--json'] });
  assert.equal(next.exit, 0, next.stderr);
  const run = runJsonOf(next);
  assert.ok(run.counts.cached > 0, 'the resumed run reads what the cancelled one encoded');
  assert.ok(run.counts.encoded < run.counts.images, 'and encodes only the rest');
  assert.deepEqual(plain(run.metrics), plain(baseMetrics), 'the same result as a run never interrupted');
}

const csv = (w: World, name: string, text: string | Buffer) => fs.writeFileSync(w.at(name), text);
const useTrain = (w: World, source: object) => w.edit((e) => (e.data.train = source));
/** the encode step has started producing (a --json progress event of encode-images) */
const ENCODING = /"type":"progress","step":"encode-images"/;

const cases: FaultCase[] = [
  // --- the experiment file
  {
    name: 'experiment: JSON syntax error',
    setup: (w) => fs.writeFileSync(w.exp, fs.readFileSync(w.exp, 'utf8').replace('"version": 1,', '"version": 1,,')),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /demo\.tldr\.json:2:\d+: .*JSON/,
  },
  {
    name: 'experiment: schema error (one class)',
    setup: (w) => w.edit((e) => (e.task.classes = ['only'])),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /\$\.task\.classes: a task needs at least two classes/,
  },
  {
    name: 'experiment: file does not exist',
    run: (w) => ({ args: ['run', w.at('nope.tldr.json')] }),
    exit: 2,
    message: /nope\.tldr\.json/,
  },
  {
    name: 'experiment: UTF-8 BOM and CRLF line ends',
    setup: (w) => fs.writeFileSync(w.exp, '\uFEFF' + fs.readFileSync(w.exp, 'utf8').replace(/\n/g, '\r\n')),
    run: (w) => ({ args: ['words', w.exp] }),
    exit: 0,
    message: /targets \/ landbird \(\d+ words\)/,
  },
  {
    name: 'experiment: no word passes for a class',
    setup: (w) => w.edit((e) => (e.words.targets.waterbird = [])),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /no target word of class "waterbird" passes validation/,
  },
  // --- data
  {
    name: 'data: missing images',
    setup: (w) => {
      csv(w, 'bad.csv', 'path,label\nworld/train/missing-1.png,0\nworld/train/missing-2.png,1\n');
      useTrain(w, { manifest: 'bad.csv' });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /bad\.csv: 2 image files are missing/,
  },
  {
    name: 'data: corrupt image',
    setup: (w) => {
      fs.writeFileSync(w.at('broken.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really a png'));
      csv(w, 'corrupt.csv', 'path,label\nbroken.png,0\n');
      useTrain(w, { manifest: 'corrupt.csv' });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /data\.train: none of the 1 images can be read:\n {2}\S*broken\.png: /,
  },
  {
    name: 'data: unknown labels',
    setup: (w) => {
      csv(w, 'labels.csv', 'path,label\nworld/train/00000_pelican_marsh.png,seabird\n');
      useTrain(w, { manifest: 'labels.csv' });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /row 2: label "seabird" is not a class index or one of \["landbird","waterbird"\]/,
  },
  {
    name: 'data: manifest without a path column',
    setup: (w) => {
      csv(w, 'nopath.csv', 'picture,label\nworld/train/00000_pelican_marsh.png,1\n');
      useTrain(w, { manifest: 'nopath.csv' });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /nopath\.csv: no image path column\. Its columns are picture, label; name the image path column one of: path/,
  },
  {
    name: 'data: empty manifest (0 bytes)',
    setup: (w) => {
      csv(w, 'empty.csv', '');
      useTrain(w, { manifest: 'empty.csv' });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /empty\.csv: the manifest is empty\. Add a header/,
  },
  {
    name: 'data: manifest with a header and no rows',
    setup: (w) => {
      csv(w, 'header.csv', 'path,label\n');
      useTrain(w, { manifest: 'header.csv', split: 'train' });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /header\.csv: the manifest is empty: it has a header \(path,label\) and no rows/,
  },
  {
    name: 'data: split value that no row has',
    setup: (w) => w.edit((e) => (e.data.train.split = 'training')),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /metadata\.csv: no rows with split "training"; its split column has "0", "1", "2" \(Waterbirds/,
  },
  {
    name: 'data: JSONL line that is not an object',
    setup: (w) => {
      csv(w, 'rows.jsonl', '{"path": "world/train/00000_pelican_marsh.png", "label": 1}\n[1, 2]\n');
      useTrain(w, { manifest: 'rows.jsonl' });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /rows\.jsonl:2: not a JSON object/,
  },
  {
    name: 'data: CRLF + BOM manifest runs',
    warm: true,
    setup: (w) => {
      const text = fs.readFileSync(w.at('world', 'metadata.csv'), 'utf8');
      fs.writeFileSync(w.at('crlf.csv'), '\uFEFF' + text.replace(/\n/g, '\r\n'));
      w.edit((e) => {
        for (const split of ['train', 'val', 'test']) e.data[split] = { manifest: 'crlf.csv', root: 'world', split };
      });
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 0,
    message: /run succeeded/,
    check: (w) => assert.deepEqual(plain(runJsons(w)[0].metrics), plain(baseMetrics), 'the same result as the LF manifest'),
  },
  {
    name: 'data: non-ASCII folder names',
    warm: true,
    deepCopy: true,
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 0,
    message: /run succeeded: .*données d’oiseaux 鳥/,
    check: (w) => {
      // a run writes nothing but .tldr/ (onnxruntime-node has no telemetry or log files to turn off)
      assert.deepEqual(fs.readdirSync(w.dir).sort(), ['.tldr', 'demo.tldr.json', 'models', 'world']);
      assert.deepEqual(fs.readdirSync(w.at('.tldr')).sort(), ['cache', 'runs', 'scores']);
    },
  },
  // --- models
  {
    name: 'model: classifier file missing',
    setup: (w) => w.edit((e) => (e.models.classifier.path = 'models/nope.onnx')),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /nope\.onnx: the file does not exist.*models\.classifier/s,
  },
  {
    name: 'model: CLIP text tower given as the classifier',
    setup: (w) => w.edit((e) => (e.models.classifier.path = 'models/clip/onnx/text_model.onnx')),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message:
      /text_model\.onnx: the classifier has 2 inputs \(input_ids int64 .*attention_mask int64 .*\): integer token ids, so this looks like a text model .*but TLDR feeds one float image input \[batch, 3, height, width\]/,
    check: (w) =>
      assert.ok(
        runJsons(w).every((r) => r.status === 'failed' && !r.counts),
        'no image was encoded',
      ),
  },
  {
    name: 'model: the same, with task.classes "fixed" to 64 outputs',
    setup: (w) =>
      w.edit((e) => {
        e.models.classifier.path = 'models/clip/onnx/text_model.onnx';
        e.task.classes = Array.from({ length: 64 }, (_, i) => `c${i}`);
        e.task.targetAnchors = e.task.classes.map((c: string) => `a photo of a ${c}.`);
        e.words.targets = Object.fromEntries(e.task.classes.map((c: string) => [c, [{ text: c }]]));
      }),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /text_model\.onnx: the classifier has 2 inputs .*integer token ids/,
  },
  {
    name: 'model: classifier without a final linear layer',
    setup: (w) => w.edit((e) => (e.models.classifier.path = path.join(repoRoot, 'test', 'fixtures', 'classifiers', 'no_linear.onnx'))),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /linear layer/i,
  },
  {
    name: 'model: classifier outputs differ from task.classes',
    setup: (w) =>
      w.edit((e) => {
        e.task.classes.push('seabird');
        e.task.targetAnchors.push('a photo of a seabird.');
        e.words.targets.seabird = [{ text: 'gull' }, { text: 'tern' }];
      }),
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /classifier\.onnx: the classifier has 2 outputs but task\.classes lists 3 classes/,
  },
  {
    name: 'model: classifier file is not ONNX',
    setup: (w) => {
      fs.writeFileSync(w.at('garbage.onnx'), 'this is not a model\n'.repeat(20));
      w.edit((e) => (e.models.classifier.path = 'garbage.onnx'));
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /garbage\.onnx is not an ONNX model/,
  },
  {
    name: 'model: CLIP text and image embedding sizes differ',
    setup: (w) => {
      fs.cpSync(w.at('models', 'clip'), w.at('clip-mismatch'), { recursive: true });
      writeVisionModel(w.at('clip-mismatch', 'onnx', 'vision_model.onnx'), 64, 7);
      w.edit((e) => (e.models.clip.dir = 'clip-mismatch'));
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /CLIP text embeddings have \d+ dimensions but image embeddings have 7/,
  },
  {
    name: 'model: CLIP vision tower is a text model',
    setup: (w) => {
      fs.cpSync(w.at('models', 'clip'), w.at('clip-swapped'), { recursive: true });
      fs.copyFileSync(w.at('models', 'clip', 'onnx', 'text_model.onnx'), w.at('clip-swapped', 'onnx', 'vision_model.onnx'));
      w.edit((e) => (e.models.clip.dir = 'clip-swapped'));
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /vision_model\.onnx/,
  },
  {
    name: 'model: CLIP folder without tokenizer',
    setup: (w) => {
      fs.cpSync(w.at('models', 'clip'), w.at('clip-notok'), { recursive: true });
      fs.rmSync(w.at('clip-notok', 'tokenizer.json'));
      w.edit((e) => (e.models.clip.dir = 'clip-notok'));
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 2,
    message: /clip-notok.*tokenizer/,
  },
  // --- signals, concurrency, stale state
  {
    name: 'SIGINT mid-run: exit 130, exact resume',
    run: (w) => ({ args: ['run', w.exp, '--json'], interrupt: { signal: 'SIGINT', when: ENCODING } }),
    exit: 130,
    message: /Cancelled \(SIGINT\)/,
    check: async (w) => {
      assert.deepEqual(
        runJsons(w).map((r) => r.status),
        ['cancelled'],
      );
      await exactResume(w);
    },
  },
  {
    name: 'SIGTERM mid-run: handled like SIGINT',
    run: (w) => ({ args: ['run', w.exp, '--json'], interrupt: { signal: 'SIGTERM', when: ENCODING } }),
    exit: 130,
    message: /Cancelled \(SIGTERM\)/,
    check: async (w) => {
      assert.deepEqual(
        runJsons(w).map((r) => r.status),
        ['cancelled'],
      );
      await exactResume(w);
    },
  },
  {
    name: 'SIGKILL mid-run: reads as interrupted, temp files swept',
    run: (w) => ({ args: ['run', w.exp, '--json'], interrupt: { signal: 'SIGKILL', when: ENCODING } }),
    exit: 'SIGKILL',
    message: /"type":"run-start"/,
    describe: '(killed: no message) then `tldr-debias runs` lists it as interrupted; the next run sweeps its aged temp files',
    tempFilesAllowed: true,
    check: async (w) => {
      assert.deepEqual(
        runJsons(w).map((r) => r.status),
        ['running'],
        'the record could not be ended',
      );
      const runs = await spawnCli({ args: ['runs', w.exp, '--json'] });
      assert.equal(runs.exit, 0, runs.stderr);
      assert.deepEqual(
        JSON.parse(runs.stdout).map((r: { status: string }) => r.status),
        ['interrupted'],
      );
      // what a killed writer left: aged past the sweep's threshold (as after a few minutes)
      const old = new Date(Date.now() - 3_600_000);
      for (const f of tempFiles(w.dir)) fs.utimesSync(f, old, old);
      const next = await spawnCli({ args: ['run', w.exp, '--json'] });
      assert.equal(next.exit, 0, next.stderr);
      assert.deepEqual(tempFiles(w.dir), []);
    },
  },
  {
    name: 'stale temp file in the cache is removed when it opens',
    warm: true,
    setup: (w) => {
      const ns = fs.readdirSync(w.at('.tldr', 'cache'))[0]!;
      const tmp = w.at('.tldr', 'cache', ns, '.ab12.safetensors.99999.deadbeef.tmp');
      fs.writeFileSync(tmp, 'half');
      const old = new Date(Date.now() - 3_600_000);
      fs.utimesSync(tmp, old, old);
    },
    run: (w) => ({ args: ['run', w.exp] }),
    exit: 0,
    message: /run succeeded/,
  },
  {
    name: 'run record of a process that is gone: interrupted',
    setup: (w) => {
      const dir = w.at('.tldr', 'runs', '20260101-000000-dead');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'run.json'),
        JSON.stringify({
          runId: '20260101-000000-dead',
          experiment: w.exp,
          configHash: 'x',
          seed: 0,
          versions: {},
          startedAt: '2026-01-01T00:00:00.000Z',
          pid: 2 ** 22 + 17,
          host: os.hostname(),
          status: 'running',
        }),
      );
      const other = w.at('.tldr', 'runs', '20260101-000001-away');
      fs.mkdirSync(other, { recursive: true });
      fs.writeFileSync(
        path.join(other, 'run.json'),
        JSON.stringify({
          runId: '20260101-000001-away',
          experiment: w.exp,
          configHash: 'x',
          seed: 0,
          versions: {},
          startedAt: '2026-01-01T00:00:01.000Z',
          pid: 2 ** 22 + 17,
          host: 'another-host',
          status: 'running',
        }),
      );
    },
    run: (w) => ({ args: ['runs', w.exp] }),
    exit: 0,
    message: /20260101-000000-dead {2}interrupted/,
    check: (_w, [out]) => assert.doesNotMatch(out!.stdout, /away/, "another host's running run is not judged from here"),
  },
  {
    name: 'two concurrent runs of one experiment',
    run: (w) => [{ args: ['run', w.exp] }, { args: ['run', w.exp] }],
    exit: 0,
    message: /run succeeded/,
    nextRun: true,
    check: (w) => {
      const runs = runJsons(w);
      assert.equal(runs.length, 2);
      for (const r of runs) assert.deepEqual(plain(r.metrics), plain(baseMetrics), 'every run gets the result of a run alone');
    },
  },
  // --- permissions and disk
  {
    name: 'read-only experiment folder',
    skip: permissionSkip,
    setup: (w) => {
      giveToNobody(w.dir);
      fs.chmodSync(w.dir, 0o555);
    },
    run: (w) => ({ args: ['run', w.exp], asNobody: true }),
    exit: 2,
    message: /\.tldr: cannot create the folder \(EACCES\)\. TLDR keeps its runs and cached embeddings in \.tldr\//,
    check: (w) => fs.chmodSync(w.dir, 0o755),
  },
  {
    name: 'read-only cache folder',
    skip: permissionSkip,
    setup: (w) => {
      fs.mkdirSync(w.at('.tldr', 'cache'), { recursive: true });
      giveToNobody(w.dir);
      fs.chmodSync(w.at('.tldr', 'cache'), 0o555);
    },
    run: (w) => ({ args: ['run', w.exp], asNobody: true }),
    exit: 2,
    message: /\.tldr\/cache: the folder is not writable \(EACCES\)/,
    check: (w) => {
      fs.chmodSync(w.at('.tldr', 'cache'), 0o755);
      assert.deepEqual(runJsons(w), [], 'no run started');
    },
  },
  {
    name: 'read-only .tldr/scores: the run keeps its results',
    warm: true,
    skip: permissionSkip,
    setup: (w) => {
      fs.mkdirSync(w.at('.tldr', 'scores'));
      giveToNobody(w.dir);
      fs.chmodSync(w.at('.tldr', 'scores'), 0o555);
    },
    run: (w) => ({ args: ['run', w.exp], asNobody: true }),
    exit: 0,
    message: /warning \(artifact-not-written\): The word scores for the editor were not kept \(EACCES\)/,
    check: (w) => {
      fs.chmodSync(w.at('.tldr', 'scores'), 0o755);
      const [run] = runJsons(w);
      assert.equal(run.status, 'succeeded');
      assert.ok(run.warnings.some((x: { code: string }) => x.code === 'artifact-not-written'));
      assert.ok(fs.existsSync(w.at('.tldr', 'runs', run.runId, 'model.debiased.onnx')));
    },
  },
  {
    name: 'words --generate into a read-only experiment file',
    skip: permissionSkip,
    setup: (w) => {
      giveToNobody(w.dir);
      fs.chmodSync(w.exp, 0o444);
      fs.chmodSync(w.dir, 0o555);
    },
    run: (w) => ({ ...generate(() => wordsReply(['heron', 'stork']))(w), asNobody: true }),
    exit: 1,
    message: /demo\.tldr\.json/,
    check: (w, [out]) => {
      fs.chmodSync(w.dir, 0o755);
      assert.match(out!.stdout, /Generated \(not written\)/);
    },
  },
  // --- the LLM endpoint
  {
    name: 'LLM: not a word list (the issue\'s "Sure!!! ... lorem ipsum")',
    run: generate(() => chatReply('Sure!!! here you go: <<<%%% not json {{{ lorem ipsum')),
    exit: 1,
    message:
      /127\.0\.0\.1:\d+\/v1\/chat\/completions \(model "fake-model"\): the answer could not be read as a word list \(it is not a list of short phrases .*it began: "Sure!!! here you go/,
  },
  {
    name: 'LLM: prose refusal',
    run: generate(() => chatReply('I am sorry, but I cannot help with that request.')),
    exit: 1,
    message: /\(model "fake-model"\): the answer could not be read as a word list .*I am sorry/,
  },
  {
    name: 'LLM: HTML page as the answer body',
    run: generate(() => ({
      headers: { 'content-type': 'text/html' },
      text: '<!DOCTYPE html><html><head><title>Sign in</title></head><body>proxy</body></html>',
    })),
    exit: 1,
    message: /did not answer with a chat completion but with an HTML page; it began: "<!DOCTYPE html>/,
  },
  {
    name: 'LLM: HTML inside the message',
    run: generate(() => chatReply('<html><body><p>Service unavailable</p></body></html>')),
    exit: 1,
    message: /the answer is an HTML page, not a word list/,
  },
  {
    name: 'LLM: JSON that is not the requested structure',
    run: generate(() => chatReply('{"error": "quota exceeded"}')),
    exit: 1,
    message: /it is JSON, but not the requested \{"words": \[\.\.\.\]\}/,
  },
  {
    name: 'LLM: a plausible plain list is taken',
    run: generate(() => chatReply('Here you go:\n1. Purple gallinule\n2. Marbled godwit\n3. Limpkin')),
    exit: 0,
    message: /Added \d+ words to .*demo\.tldr\.json/,
    experimentChanges: true,
    check: (w) => assert.match(fs.readFileSync(w.exp, 'utf8'), /"purple gallinule"/),
  },
  {
    name: 'LLM: closed port',
    run: (w) => ({
      args: ['words', w.exp, '--generate', '--base-url', `http://127.0.0.1:${closedPortNumber}/v1`],
      env: { OPENAI_API_KEY: 'local' },
    }),
    exit: 1,
    message: /Cannot reach the LLM endpoint http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\)/,
  },
  {
    name: 'LLM: HTTP 401',
    run: generate(() => errorReply(401, 'Incorrect API key provided')),
    exit: 1,
    message: /rejected the API key \(HTTP 401: Incorrect API key provided\)/,
  },
  {
    name: 'LLM: HTTP 500 on every try, no listener warning',
    run: generate(() => errorReply(500, 'upstream exploded', {}, { 'retry-after-ms': '1' }), '--max-retries', '5'),
    exit: 1,
    message: /failed with HTTP 500: upstream exploded after 5 retries/,
    check: () => assert.ok(llm.requests.length >= 24, `${llm.requests.length} requests`),
  },
  {
    name: 'LLM: endpoint never answers (first-request timeout)',
    run: generate(() => ({ hang: true }), '--first-timeout', '0.3'),
    exit: 1,
    message: /No answer from .*\(model "fake-model"\) within 300 ms, on any of 2 tries; the endpoint has answered no request/,
    check: (_w, [out]) => assert.match(out!.stderr, /not attempted after the previous error/),
  },
  {
    name: 'LLM: overall --deadline',
    run: generate(() => ({ hang: true }), '--first-timeout', '600', '--timeout', '600', '--deadline', '0.5'),
    exit: 1,
    message: /no word list within the deadline of 0\.5 s for the whole generation/,
  },
  {
    name: 'LLM: no API key',
    run: (w) => ({ args: ['words', w.exp, '--generate', '--base-url', llm.url] }),
    exit: 2,
    message: /No API key for the LLM endpoint/,
  },
  // --- the command line
  {
    name: 'usage: unknown command',
    run: () => ({ args: ['frobnicate'] }),
    exit: 2,
    message: /unknown command "frobnicate"/,
  },
  {
    name: 'usage: run without an experiment',
    run: () => ({ args: ['run'] }),
    exit: 2,
    message: /Usage: tldr-debias run EXP/,
  },
];

let closedPortNumber = 0;

before(async () => {
  ({ metrics: baseMetrics } = await buildBaseWorld());
  llm = await startFakeOpenAiServer();
  closedPortNumber = await closedPort();
});

after(async () => {
  await llm?.close();
  const done = rows.filter((r): r is Row => !!r);
  if (done.length === cases.length) fs.writeFileSync(path.join(repoRoot, 'test', 'faults', 'RESULTS.md'), resultsTable(done));
  removeTempRoot();
});

test(`the corpus has at least 30 cases (${cases.length})`, () => assert.ok(cases.length >= 30));

cases.forEach((c, i) => {
  const skip = c.skip?.();
  if (skip) rows[i] = { name: c.name, exit: 'skipped', message: skip };
  test(c.name, { skip: skip || undefined }, async () => {
    llm.requests.length = 0;
    rows[i] = await runCase(c, c.name.startsWith('data: non-ASCII') ? 'données d’oiseaux 鳥' : undefined);
  });
});
