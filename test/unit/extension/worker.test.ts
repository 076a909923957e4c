// The worker client against a fake worker process speaking the real protocol: a job's progress
// reaches its handler, cancelling the request's token reaches the worker, a worker that dies
// mid-request rejects it as an unexpected death, and the next request forks anew.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { WorkerClient, WorkerDiedError, isCancelled } from '../../../src/extension/jobs/workerClient';
import { listRunsRequest, runRequest } from '../../../src/protocol/worker';
import type { EngineEvent } from '../../../src/protocol/events';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tldr-worker-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const fake = path.join(dir, 'fake-worker.js');
fs.writeFileSync(
  fake,
  `const { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError, ProgressType } = require(${JSON.stringify(require.resolve('vscode-jsonrpc/node'))});
const c = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
c.onRequest('listRuns', () => [{ runId: String(process.pid) }]);
c.onRequest('run', async (p, token) => {
  c.sendProgress(new ProgressType(), p.workDoneToken, { type: 'log', level: 'info', message: 'hello' });
  if (p.file === 'die') { setTimeout(() => process.exit(3), 50); return new Promise(() => {}); }
  if (p.file === 'hang') return new Promise(() => {});
  if (p.file === 'cancellable') return new Promise((resolve) => token.onCancellationRequested(() => resolve(new ResponseError(2, 'The job was cancelled.'))));
  return { runId: 'r', runDir: 'd', status: 'succeeded', metrics: {} };
});
c.listen();
`,
);

test('progress goes to the job, a death rejects the request, the next request starts a new worker', async () => {
  const logs: string[] = [];
  const client = new WorkerClient(fake, (_l, m) => logs.push(m));
  try {
    const first = await client.request(listRunsRequest, { file: 'x' });
    const events: EngineEvent[] = [];
    const ok = await client.job(runRequest, { file: 'ok' }, (e) => events.push(e));
    assert.equal(ok.status, 'succeeded');
    assert.deepEqual(events, [{ type: 'log', level: 'info', message: 'hello' }]);

    await assert.rejects(
      client.job(runRequest, { file: 'die' }, () => {}),
      (err: unknown) => err instanceof WorkerDiedError && err.code === 3 && !err.expected,
    );
    assert.ok(
      logs.some((l) => /exited/.test(l)),
      'the death is logged',
    );

    const second = await client.request(listRunsRequest, { file: 'x' });
    assert.notEqual(second[0]!.runId, first[0]!.runId, 'a new worker process answered');
  } finally {
    client.dispose();
  }
});

test("cancelling the request's token reaches the worker, which answers cancelled", async () => {
  const client = new WorkerClient(fake, () => {});
  try {
    const source = new CancellationTokenSource();
    const p = client.job(runRequest, { file: 'cancellable' }, () => source.cancel(), source.token);
    await assert.rejects(p, (err: unknown) => isCancelled(err));
  } finally {
    client.dispose();
  }
});

test('kill() ends a hanging job as an expected death', async () => {
  const client = new WorkerClient(fake, () => {});
  try {
    const p = client.job(runRequest, { file: 'hang' }, () => {});
    await new Promise((r) => setTimeout(r, 300));
    client.kill();
    await assert.rejects(p, (err: unknown) => err instanceof WorkerDiedError && err.expected);
  } finally {
    client.dispose();
  }
});
