// The Setup tab's options (CLIP variant, the classifier's resize filter): shown from the text,
// edited by one minimal change that keeps the user's formatting, validated on the way in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documentState, experimentSchema, setSetupOption, setSetupPath } from '../../../src/experiment';
import { parseWebviewMessage } from '../../../src/protocol/webview';
import { sampleExperiment } from '../../helpers/experiment';

const text = JSON.stringify(sampleExperiment(), null, 4);

test('documentState shows the defaults when the file names no variant or filter, and what it names otherwise', () => {
  const s = documentState(text, 'e.tldr.json');
  assert.ok(s.ok);
  assert.deepEqual(s.ok && s.options, { clipVariant: 'auto', resample: 'bicubic' });
  const set = setSetupOption(setSetupOption(text, { option: 'clipVariant', value: 'fp16' }), { option: 'resample', value: 'bilinear' });
  const t = documentState(set, 'e.tldr.json');
  assert.deepEqual(t.ok && t.options, { clipVariant: 'fp16', resample: 'bilinear' });
});

test('setSetupOption changes only that value: the rest of the text stays byte for byte', () => {
  const v = setSetupOption(text, { option: 'clipVariant', value: 'quantized' });
  const exp = experimentSchema.parse(JSON.parse(v));
  assert.equal(exp.models.clip.variant, 'quantized');
  // inserted as the last property of models.clip, in the file's 4-space style
  assert.equal(v.replace(/,\n {12}"variant": "quantized"/, ''), text);
  const r = setSetupOption(v, { option: 'resample', value: 'bilinear' });
  assert.equal(experimentSchema.parse(JSON.parse(r)).models.classifier.preprocessing.resample, 'bilinear');
  assert.match(r, /"preprocessing": \{\n {16}"resample": "bilinear"\n {12}\}/);
  // a second edit replaces the value in place
  const back = setSetupOption(r, { option: 'clipVariant', value: 'auto' });
  assert.equal(back, r.replace('"quantized"', '"auto"'));
  assert.throws(() => setSetupOption('{ "models": ', { option: 'resample', value: 'bicubic' }), /not valid JSON/);
});

test('setOption messages from the webview: known variants and filters only', () => {
  assert.ok(parseWebviewMessage({ type: 'setOption', set: { option: 'clipVariant', value: 'q4f16' } }).ok);
  assert.ok(parseWebviewMessage({ type: 'setOption', set: { option: 'resample', value: 'bilinear' } }).ok);
  const bad = parseWebviewMessage({ type: 'setOption', set: { option: 'clipVariant', value: 'fp64' } });
  assert.ok(!bad.ok);
  assert.ok(!parseWebviewMessage({ type: 'setOption', set: { option: 'resample', value: 'lanczos' } }).ok);
  assert.ok(!parseWebviewMessage({ type: 'setOption', set: { option: 'tokenizer', value: 'x' } }).ok);
});

test('the Setup tab shows and edits a data source in its own form: imageFolder and celeba paths, not a new manifest key', () => {
  const e = sampleExperiment() as unknown as { data: Record<string, unknown> };
  e.data = { train: { imageFolder: 'birds', split: 'train' }, val: { celeba: 'celeba', target: 'Blond_Hair', split: 'val' } };
  const t = JSON.stringify(e, null, 2);
  const s = documentState(t, 'e.tldr.json');
  assert.ok(s.ok);
  const value = (id: string) => (s.ok ? s.setup.find((f) => f.id === id)?.value : undefined);
  assert.equal(value('train'), 'birds');
  assert.equal(value('val'), 'celeba');
  const moved = setSetupPath(t, 'train', 'other/birds');
  assert.deepEqual(JSON.parse(moved).data.train, { imageFolder: 'other/birds', split: 'train' });
});
