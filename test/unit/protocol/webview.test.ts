import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostMessage, parseWebviewMessage } from '../../../src/protocol/webview';

test('valid webview messages parse, with words trimmed', () => {
  const r = parseWebviewMessage({ type: 'edit', edit: { op: 'add', list: 'targets', group: 'landbird', text: '  heron ' } });
  assert.equal(r.ok, true);
  if (r.ok && r.message.type === 'edit' && r.message.edit.op === 'add') assert.equal(r.message.edit.text, 'heron');
  for (const m of [
    { type: 'ready' },
    { type: 'edit', edit: { op: 'update', list: 'spurious', group: 'water', index: 0, text: 'sea', newText: 'ocean' } },
    { type: 'edit', edit: { op: 'delete', list: 'targets', group: 'a', index: 3, text: 'x' } },
    { type: 'edit', edit: { op: 'lock', list: 'targets', group: 'a', index: 0, text: 'x', locked: true } },
    { type: 'removeFailing' },
    { type: 'removeFailing', list: 'targets', group: 'a' },
    { type: 'generateWords', list: 'spurious' },
    { type: 'pickPath', field: 'classifier' },
    { type: 'openArtifact', what: 'report', runId: 'r1' },
  ]) {
    assert.equal(parseWebviewMessage(m).ok, true, JSON.stringify(m));
  }
});

test('invalid webview messages are rejected with a reason', () => {
  for (const m of [
    null,
    'ready',
    { type: 'nope' },
    { type: 'edit', edit: { op: 'add', list: 'targets', group: 'a', text: '   ' } },
    { type: 'edit', edit: { op: 'add', list: 'other', group: 'a', text: 'x' } },
    { type: 'edit', edit: { op: 'add', list: 'targets', group: 'a', text: 'two\nlines' } },
    { type: 'edit', edit: { op: 'delete', list: 'targets', group: 'a', index: -1, text: 'x' } },
    { type: 'edit', edit: { op: 'delete', list: 'targets', group: 'a', index: 1.5, text: 'x' } },
    { type: 'edit', edit: { op: 'lock', list: 'targets', group: 'a', index: 0, text: 'x' } },
    { type: 'pickPath', field: '../../etc/passwd' },
    { type: 'ready', extra: true },
    { type: 'edit', edit: { op: 'add', list: 'targets', group: 'a', text: 'x'.repeat(201) } },
  ]) {
    const r = parseWebviewMessage(m);
    assert.equal(r.ok, false, JSON.stringify(m));
    if (!r.ok) assert.ok(r.error.length > 0);
  }
});

test('host messages: valid ones parse, engine extras are stripped, malformed ones are rejected', () => {
  const scores = parseHostMessage({
    type: 'scores',
    scores: [{ list: 'targets', group: 'a', index: 0, text: 'x', clipMargin: 0.1, pass: true, extra: 1 }],
  });
  assert.equal(scores.ok, true);
  if (scores.ok && scores.message.type === 'scores') assert.equal('extra' in scores.message.scores[0]!, false);
  assert.equal(parseHostMessage({ type: 'document', doc: { ok: false, fileName: 'a', error: 'bad' } }).ok, true);
  assert.equal(parseHostMessage({ type: 'job', job: { kind: 'run', label: 'x', percent: 140 } }).ok, false);
  assert.equal(parseHostMessage({ type: 'scores', scores: [{ list: 'targets', group: 'a', text: 'x', pass: true }] }).ok, false);
  assert.equal(parseHostMessage({ type: 'results', result: null }).ok, true);
});
