// The worker client against a fake worker process: events reach the job that asked, a worker
// that dies mid-request rejects it as an unexpected death, and the next request forks anew.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkerClient, WorkerDiedError } from '../../../src/extension/workerClient';
import { listRunsRequest, runRequest } from '../../../src/protocol/worker';
import type { EngineEvent } from '../../../src/protocol/events';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tldr-worker-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const fake = path.join(dir, 'fake-worker.js');
fs.writeFileSync(
  fake,
  `const { createMessageConnection, IPCMessageReader, IPCMessageWriter } = require(${JSON.stringify(require.resolve('vscode-jsonrpc/node'))});
const c = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
c.onRequest('listRuns', () => [{ runId: String(process.pid) }]);
c.onRequest('run', async (p) => {
  c.sendNotification('event', { jobId: p.jobId, event: { type: 'log', level: 'info', message: 'hello' } });
  if (p.file === 'die') { setTimeout(() => process.exit(3), 50); return new Promise(() => {}); }
  else if (p.file === 'hang') return new Promise(() => {});
  else return { runId: 'r', runDir: 'd', status: 'succeeded', metrics: {} };
});
c.listen();
`,
);

test('events go to the job, a death rejects the request, the next request starts a new worker', async () => {
  const logs: string[] = [];
  const client = new WorkerClient(fake, (_l, m) => logs.push(m));
  try {
    const first = await client.request(listRunsRequest, { file: 'x' });
    const events: EngineEvent[] = [];
    const ok = await client.request(runRequest, { jobId: 'j1', file: 'ok' }, { jobId: 'j1', onEvent: (e) => events.push(e) });
    assert.equal(ok.status, 'succeeded');
    assert.deepEqual(events, [{ type: 'log', level: 'info', message: 'hello' }]);

    await assert.rejects(
      client.request(runRequest, { jobId: 'j2', file: 'die' }, { jobId: 'j2', onEvent: () => {} }),
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

test('kill() ends a hanging job as an expected death', async () => {
  const client = new WorkerClient(fake, () => {});
  try {
    const p = client.request(runRequest, { jobId: 'j', file: 'hang' }, { jobId: 'j', onEvent: () => {} });
    await new Promise((r) => setTimeout(r, 300));
    client.kill();
    await assert.rejects(p, (err: unknown) => err instanceof WorkerDiedError && err.expected);
  } finally {
    client.dispose();
  }
});
