// Issue 10, item 4: "TLDR: New Experiment…" builds an experiment from the user's models and data
// in the real VS Code host: the QuickInput steps pick the CLIP folder, the classifier and the data
// from the workspace; the spurious attribute is asked for (an image folder names none); the summary
// shows what was detected; the file is written and opened in the TLDR editor, whose Setup tab then
// lists the CLIP variants and the resize filter and edits the document with them. A second run of
// the wizard cannot reuse the name: an existing experiment is never replaced.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import test from 'node:test';
import { calm, editorTab, repoRoot, runCommand, savedJson, screenshot, waitFor, webviewFrame, withHost } from './harness.mjs';

/** The workspace: a CLIP export (the split fixture), the demo's 2-class classifier, and birds/<split>/<class>/ images. */
function workspaceFiles() {
  const files = {};
  const clip = join(repoRoot, 'test', 'fixtures', 'clip', 'split');
  for (const e of readdirSync(clip, { recursive: true })) {
    const p = join(clip, String(e));
    if (statSync(p).isFile()) files[join('models', 'clip', relative(clip, p))] = readFileSync(p);
  }
  files['models/classifier.onnx'] = readFileSync(join(repoRoot, 'media', 'demo', 'birds', 'classifier.onnx'));
  const jpg = readFileSync(join(repoRoot, 'test', 'fixtures', 'images', 'rgb.jpg'));
  for (const split of ['train', 'val', 'test'])
    for (const cls of ['landbird', 'waterbird']) for (const i of [1, 2]) files[`birds/${split}/${cls}/${i}.jpg`] = jpg;
  return files;
}

const quickInput = (page) => page.locator('.quick-input-widget');
/** The QuickPick row whose label is exactly `label`. */
const row = (page, label) =>
  page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }) });

/** A QuickPick row whose label contains `text` (labels with an icon). */
const choice = (page, text) => page.locator('.quick-input-list .monaco-list-row').filter({ hasText: text });

async function pickRow(page, title, label) {
  await quickInput(page).locator('.quick-input-title', { hasText: title }).waitFor();
  await row(page, label).first().click();
}

/** Runs "TLDR: New Experiment…" from the palette; the command opens its own quick input at once. */
async function newExperimentCommand(page) {
  await runCommand(page, 'TLDR: New Experiment…', { timeoutMs: 90_000 });
  await quickInput(page).locator('.quick-input-title', { hasText: 'TLDR: New Experiment' }).waitFor();
}

async function startWizard(page) {
  await newExperimentCommand(page);
  await quickInput(page).locator('.quick-input-title', { hasText: 'TLDR: New Experiment' }).waitFor();
  await choice(page, 'From my models and data').click();
  await pickRow(page, '(1/4)', 'models/clip');
  await pickRow(page, '(2/4)', 'models/classifier.onnx');
  await pickRow(page, '(3/4)', 'birds');
  await quickInput(page).locator('.quick-input-title', { hasText: '(4/4)' }).waitFor();
}

test(
  'New Experiment… from models and data: detected, summarised, written, opened; Setup tab variant and filter edit it',
  { timeout: 420_000 },
  (t) =>
    withHost(t, { settings: { 'files.autoSave': 'off' }, files: workspaceFiles() }, async (host) => {
      const { page, workspace } = host;
      const file = join(workspace, 'wizard-birds.tldr.json');

      // The first step: from models and data, an empty experiment, or the demo.
      await newExperimentCommand(page);
      for (const label of ['From my models and data', 'Empty experiment', 'Open the demo']) await choice(page, label).waitFor();
      await calm(page);
      await screenshot(page, 'wizard-1-start');
      await choice(page, 'From my models and data').click();

      // 1/4: the CLIP folder found in the workspace (its onnx/ towers and tokenizer), and Browse…
      await quickInput(page).locator('.quick-input-title', { hasText: '(1/4)' }).waitFor();
      await row(page, 'models/clip').waitFor();
      assert.equal(await row(page, 'models/classifier.onnx').count(), 0, 'the classifier is not offered as a CLIP folder');
      await calm(page);
      await screenshot(page, 'wizard-2-clip-step');
      await row(page, 'models/clip').click();
      // 2/4: the classifier; the CLIP towers are not offered
      await quickInput(page).locator('.quick-input-title', { hasText: '(2/4)' }).waitFor();
      await row(page, 'models/classifier.onnx').waitFor();
      assert.equal(await row(page, 'models/clip/onnx/text_model.onnx').count(), 0, 'CLIP towers are not classifiers');
      await row(page, 'models/classifier.onnx').click();
      // 3/4: the data folder (its split folders are offered too)
      await quickInput(page).locator('.quick-input-title', { hasText: '(3/4)' }).waitFor();
      await row(page, 'birds/train').waitFor();
      await row(page, 'birds').click();
      // 4/4: the name, suggested from the data folder
      await quickInput(page).locator('.quick-input-title', { hasText: '(4/4)' }).waitFor();
      const input = quickInput(page).locator('input');
      assert.equal(await input.inputValue(), 'birds');
      await input.fill('wizard-birds');
      await input.press('Enter');

      // An image folder names no spurious attribute: asked for, with a worked example as the default.
      await quickInput(page)
        .locator('.quick-input-message, .quick-input-header', { hasText: 'names no spurious attribute' })
        .first()
        .waitFor({ timeout: 60_000 });
      assert.equal(await input.inputValue(), 'background');
      await input.press('Enter');
      await quickInput(page).locator('.quick-input-message, .quick-input-header', { hasText: 'Values of "background"' }).first().waitFor();
      assert.equal(await input.inputValue(), 'land, water');
      await input.press('Enter');

      // The summary: what was detected and what is left, before anything is written.
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 60_000 });
      const summary = (await dialog.innerText()).replace(/\u00a0/g, ' ');
      assert.match(summary, /Create wizard-birds\.tldr\.json\?/);
      assert.match(summary, /CLIP: a text and a vision model \(Hugging Face layout\), tokenizer from tokenizer\.json/);
      assert.match(summary, /CLIP variants: fp32, fp16, quantized/);
      assert.match(summary, /Classifier: 2 classes/);
      assert.match(summary, /Data: class folders at birds, 12 images, train, val, test, classes landbird, waterbird/);
      assert.match(summary, /Words: every list is empty/);
      assert.throws(() => statSync(file), 'nothing written before Create');
      await calm(page);
      await screenshot(page, 'wizard-3-summary');
      await dialog.locator('.monaco-button', { hasText: /^Create$/ }).click();

      // Written and opened in the TLDR editor.
      await editorTab(page, 'wizard-birds.tldr.json').waitFor({ timeout: 60_000 });
      const exp = JSON.parse(readFileSync(file, 'utf8'));
      assert.deepEqual(exp.task.classes, ['landbird', 'waterbird']);
      assert.deepEqual(exp.task.spurious, { name: 'background', values: ['land', 'water'] });
      assert.deepEqual(exp.models.clip, { dir: 'models/clip', variant: 'auto' });
      assert.equal(exp.models.classifier.path, 'models/classifier.onnx');
      assert.deepEqual(exp.data, {
        train: { imageFolder: 'birds', split: 'train' },
        val: { imageFolder: 'birds', split: 'val' },
        test: { imageFolder: 'birds', split: 'test' },
      });
      const frame = webviewFrame(page);
      await frame.locator('[data-testid=word-table][data-list=targets][data-group=landbird]').waitFor();
      await frame.locator('[data-testid=word-table][data-list=spurious][data-group=water]').waitFor();

      // Setup tab: the checks pass for models and data; the variants of the CLIP folder are offered.
      await frame.locator('[data-testid=tab-setup]').click();
      const check = (id) => frame.locator(`[data-testid=setup-check][data-check=${id}]`);
      await check('classifier-classes').waitFor({ timeout: 60_000 });
      for (const id of [
        'experiment',
        'classifier',
        'classifier-classes',
        'clip-files',
        'clip-tokenizer',
        'data-train',
        'data-val',
        'data-test',
      ])
        assert.equal(await check(id).getAttribute('data-status'), 'ok', `${id}: ${await check(id).innerText()}`);
      const variant = frame.locator('[data-testid=clip-variant]');
      await waitFor(async () => (await variant.locator('option').count()) === 4, 30_000);
      assert.deepEqual(await variant.locator('option').evaluateAll((os) => os.map((o) => o.value)), ['auto', 'fp32', 'fp16', 'quantized']);
      assert.equal(await variant.inputValue(), 'auto');
      assert.equal(
        (await frame.locator('[data-testid=pick-path][data-field=train]').innerText()).trim(),
        'Choose folder…',
        'an image folder is picked as a folder',
      );
      await frame.locator('[data-testid=clip-variant-hint]', { hasText: 'loads onnx/text_model.onnx + onnx/vision_model.onnx' }).waitFor();
      const resample = frame.locator('[data-testid=resample]');
      assert.equal(await resample.inputValue(), 'bicubic');

      // Choosing fp16 and bilinear edits the document (dirty, minimal), Ctrl+S writes it.
      const before = readFileSync(file, 'utf8');
      await variant.selectOption('fp16');
      await page
        .locator('.part.editor .tabs-container .tab.dirty')
        .filter({ hasText: 'wizard-birds.tldr.json' })
        .waitFor({ timeout: 10_000 });
      await waitFor(async () => (await variant.inputValue()) === 'fp16', 10_000);
      await frame
        .locator('[data-testid=clip-variant-hint]', { hasText: 'loads onnx/text_model_fp16.onnx + onnx/vision_model_fp16.onnx' })
        .waitFor();
      await resample.selectOption('bilinear');
      await waitFor(async () => (await resample.inputValue()) === 'bilinear', 10_000);
      await calm(page);
      await screenshot(page, 'wizard-4-setup-tab');
      await frame.locator('[data-testid=check-setup]').click();
      await page.keyboard.press('Control+s');
      const saved = await savedJson(file, before, 'Ctrl+S did not write the file');
      const after = JSON.parse(saved);
      assert.equal(after.models.clip.variant, 'fp16');
      assert.equal(after.models.classifier.preprocessing.resample, 'bilinear');
      assert.equal(
        saved.replace('"variant": "fp16"', '"variant": "auto"').replace('"resample": "bilinear"', '"resample": "bicubic"'),
        before,
        'only the two values changed',
      );
      // the check after saving loads the fp16 towers
      await frame.locator('[data-testid=setup-check][data-check=clip-files]', { hasText: 'variant fp16' }).waitFor({ timeout: 60_000 });

      // A second run cannot take the name: the name step says so, and the file stays as it is.
      await startWizard(page);
      await input.fill('wizard-birds');
      await quickInput(page).locator('.quick-input-message', { hasText: 'wizard-birds.tldr.json already exists' }).waitFor();
      await input.press('Enter');
      await calm(page);
      await screenshot(page, 'wizard-5-name-taken');
      await input.press('Escape');
      assert.equal(readFileSync(file, 'utf8'), saved, 'the existing experiment is untouched');
    }),
);
