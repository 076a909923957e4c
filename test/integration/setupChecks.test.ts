// The editor's Setup checks on the demo models: everything ok, then the checks name what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { checkSetup } from '../../src/engine/api';
import { makeSmallDemo } from '../helpers/smallDemo';
import { tempDir } from '../helpers/paths';

test('setup checks pass on the demo and name a wrong CLIP name override and a class count mismatch', async () => {
  const exp = await makeSmallDemo(tempDir('tldr-setup-'));
  const checks = await checkSetup(exp);
  const byId = new Map(checks.map((c) => [c.id, c]));
  for (const id of [
    'experiment',
    'classifier',
    'classifier-classes',
    'clip-text',
    'clip-vision',
    'clip-dims',
    'data-train',
    'data-val',
    'data-test',
    'data-captions',
    'words',
  ]) {
    assert.equal(byId.get(id)?.status, 'ok', `${id}: ${byId.get(id)?.message}`);
  }
  assert.match(byId.get('clip-text')!.message, /input_ids \+ attention_mask -> text_embeds \[\d+\]/);

  const e = JSON.parse(fs.readFileSync(exp, 'utf8'));
  e.models.clip.names = { imageEmbeds: 'nope' };
  e.task.classes.push('seabird');
  e.task.targetAnchors.push('a photo of a seabird.');
  e.words.targets.seabird = [];
  fs.writeFileSync(exp, JSON.stringify(e));
  const bad = new Map((await checkSetup(exp)).map((c) => [c.id, c]));
  assert.equal(bad.get('clip-vision')?.status, 'error');
  assert.match(bad.get('clip-vision')!.message, /no image embedding output named "nope".*models\.clip\.names/);
  assert.equal(bad.get('classifier-classes')?.status, 'error');
  assert.match(bad.get('words')!.message, /no words for class "seabird"/);
});
