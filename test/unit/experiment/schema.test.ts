import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseExperimentText, loadExperiment } from '../../../src/experiment/parse';
import { InputError } from '../../../src/shared/errors';
import { DEFAULT_LAMBDA_GRID, experimentJsonSchema } from '../../../src/experiment';
import { sampleExperiment } from '../../helpers/experiment';
import { repoRoot, tempDir } from '../../helpers/paths';

const parse = (value: unknown) => parseExperimentText('/x/exp.tldr.json', JSON.stringify(value));

test('a valid experiment parses and gets the method defaults', () => {
  const exp = parse(sampleExperiment());
  assert.equal(exp.task.neutralPrompt, 'a photo of a {}.');
  assert.deepEqual(exp.settings.lambda, [...DEFAULT_LAMBDA_GRID]);
  assert.equal(exp.settings.selection, 'auto');
  assert.deepEqual(exp.settings.ablations, { noGapConstraint: false, noWordFilter: false, noTemplates: false });
  assert.equal(exp.settings.retrain.preset, 'converge');
  assert.equal(exp.models.clip.variant, 'auto');
  assert.equal(exp.models.clip.textModel, undefined, 'the towers are found in the folder unless named');
  assert.equal(exp.models.classifier.preprocessing.resample, 'bicubic');
  assert.deepEqual(exp.models.classifier.preprocessing.mean, [0.485, 0.456, 0.406]);
  assert.equal(exp.words.targets.landbird[0].source, 'user');
});

test('errors name the JSON path and what to do', () => {
  const e = sampleExperiment() as any;
  e.task.targetAnchors = ['only one'];
  e.words.targets.landbird[0].text = '';
  e.settings = { lamda: [1] };
  delete e.words.spurious.water;
  assert.throws(
    () => parse(e),
    (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /\/x\/exp\.tldr\.json: invalid experiment file/);
      assert.match(err.message, /\$\.task\.targetAnchors: needs one anchor per class \(2\), has 1/);
      assert.match(err.message, /\$\.words\.targets\.landbird\[0\]\.text: a word must not be empty/);
      assert.match(err.message, /\$\.settings: .*remove "lamda"/);
      assert.match(err.message, /\$\.words\.spurious\.water: missing word list for "water"/);
      return true;
    },
  );
});

test('a word list for a class that does not exist is named', () => {
  const e = sampleExperiment() as any;
  e.words.targets.seabird = [];
  assert.throws(() => parse(e), /\$\.words\.targets\.seabird: "seabird" is not one of \["landbird","waterbird"\]/);
});

test('broken JSON names the file, the line and the column', () => {
  assert.throws(
    () => parseExperimentText('/x/exp.tldr.json', '{"task": '),
    /\/x\/exp\.tldr\.json:1:10: not valid JSON \(unexpected character at line 1, column 10\)/,
  );
  const text = '{\n  "name": "a",\n  "task": {\n    "classes": ["a" "b"]\n  }\n}\n';
  assert.throws(
    () => parseExperimentText('/x/exp.tldr.json', text),
    /exp\.tldr\.json:4:21: not valid JSON \(expected "," or "\]" at line 4, column 21\)/,
  );
});

test('a byte-order mark before the JSON is accepted', () => {
  assert.throws(() => parseExperimentText('/x/e.tldr.json', '\uFEFF{}'), /invalid experiment file/);
});

test('paths resolve against the experiment file, and a missing file is named', () => {
  const dir = tempDir();
  const file = path.join(dir, 'a.tldr.json');
  fs.writeFileSync(file, JSON.stringify(sampleExperiment()));
  const l = loadExperiment(file);
  assert.equal(l.resolve('clip'), path.join(dir, 'clip'));
  assert.throws(
    () => loadExperiment(path.join(dir, 'missing.tldr.json')),
    /missing\.tldr\.json: cannot read the experiment file \(ENOENT\)/,
  );
});

test('the committed JSON Schema is the one generated from the zod schema', () => {
  const committed = JSON.parse(fs.readFileSync(path.join(repoRoot, 'schemas', 'experiment.schema.json'), 'utf8'));
  assert.deepEqual(committed, JSON.parse(JSON.stringify(experimentJsonSchema())), 'run: npm run schema');
  assert.ok(committed.properties.words, 'the schema describes the word lists');
});
