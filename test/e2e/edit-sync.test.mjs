// Done-when 3: editing a word in the webview marks the document dirty; saving writes it to the
// file; editing the JSON text updates the webview.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import {
  calm,
  editorTab,
  experimentJson,
  quickOpen,
  runCommand,
  savedJson,
  screenshot,
  waitFor,
  webviewFrame,
  withHost,
} from './harness.mjs';

const landbird = (frame) => frame.locator('[data-testid=word-table][data-list=targets][data-group=landbird]');
const wordsOf = (exp, list, group) => exp.words[list][group].map((w) => w.text);

test('a webview edit dirties the document, Ctrl+S writes it, a text edit updates the webview', { timeout: 300_000 }, (t) =>
  // code-server (VS Code for the Web) saves after a delay by default; desktop VS Code does not.
  withHost(
    t,
    {
      settings: { 'files.autoSave': 'off' },
      files: { 'birds.tldr.json': experimentJson({ targets: { landbird: ['sparrow', 'finch', 'wren'], waterbird: ['duck', 'gull'] } }) },
    },
    async (host) => {
      const { page, workspace } = host;
      const file = join(workspace, 'birds.tldr.json');
      await quickOpen(page, 'birds.tldr.json');
      const frame = webviewFrame(page);
      await landbird(frame).locator('[data-testid=word-row]').first().waitFor();
      const before = readFileSync(file, 'utf8');
      const tab = editorTab(page, 'birds.tldr.json');
      assert.doesNotMatch(await tab.getAttribute('class'), /\bdirty\b/, 'clean after opening');

      // 1. Edit "finch" -> "goldfinch" inline (Edit button, type, Enter).
      const finch = landbird(frame).locator('[data-testid=word-row][data-word="finch"]');
      await finch.locator('[data-testid=edit-word]').click();
      const input = landbird(frame).locator('[data-testid=word-input]');
      await input.waitFor({ state: 'visible' });
      assert.equal(await input.inputValue(), 'finch');
      await input.fill('goldfinch');
      await input.press('Enter');
      await landbird(frame).locator('[data-testid=word-row][data-word="goldfinch"] [data-testid=word-text]').waitFor();
      assert.equal(
        await landbird(frame).locator('[data-testid=word-row][data-word="finch"]').count(),
        0,
        'the old word is gone from the table',
      );
      // The document is dirty (tab marker), the file on disk unchanged.
      await page.locator('.part.editor .tabs-container .tab.dirty').filter({ hasText: 'birds.tldr.json' }).waitFor({ timeout: 10_000 });
      assert.equal(readFileSync(file, 'utf8'), before, 'nothing written before saving');
      await calm(page);
      await screenshot(page, 'edit-sync-dirty');

      // 2. Ctrl+S (focus is in the webview) writes the edit to the file; the marker goes away.
      await landbird(frame).locator('[data-testid=word-row][data-word="goldfinch"] [data-testid=word-text]').click();
      await page.keyboard.press('Control+s');
      const saved = JSON.parse(await savedJson(file, before, 'Ctrl+S did not write the file'));
      const landBefore = wordsOf(JSON.parse(before), 'targets', 'landbird');
      assert.deepEqual(
        wordsOf(saved, 'targets', 'landbird'),
        landBefore.map((w) => (w === 'finch' ? 'goldfinch' : w)),
        'exactly that word changed, in place',
      );
      const rest = (exp) => JSON.stringify({ ...exp, words: { ...exp.words, targets: { ...exp.words.targets, landbird: null } } });
      assert.equal(rest(saved), rest(JSON.parse(before)), 'nothing else in the file changed');
      // A minimal text edit: the rest of the text is byte-identical.
      assert.equal(
        readFileSync(file, 'utf8'),
        before.replace('"text": "finch"', '"text": "goldfinch"'),
        'the edit is the smallest text replacement',
      );
      await tab.and(page.locator('.tab:not(.dirty)')).waitFor({ timeout: 10_000 });

      // 3. Open the same document in a text editor beside the webview and edit the JSON there.
      await runCommand(page, 'View: Split Editor Right');
      await page.locator('.part.editor .editor-group-container').nth(1).waitFor();
      await page.locator('iframe.webview.ready').nth(1).waitFor();
      await webviewFrame(page, { nth: 1 }).locator('[data-testid=word-row]').first().waitFor();
      await calm(page);
      await screenshot(page, 'edit-sync-split-narrow'); // two editors side by side: narrow tables
      // "Reopen Editor With" acts on the active group; the screenshot's calm() may have moved focus
      await page.locator('.part.editor .editor-group-container').nth(1).locator('.tabs-container .tab').first().click();
      await runCommand(page, 'View: Reopen Editor with Text Editor');
      const monaco = page.locator('.part.editor .editor-group-container').nth(1).locator('.monaco-editor');
      await monaco.waitFor({ state: 'visible' });
      await waitFor(async () => (await page.locator('iframe.webview.ready').count()) === 1, 10_000).catch(() => {
        throw new Error('one webview (the left editor) stays open');
      });
      // Select wren with Find, close the widget (the match stays selected), type over it.
      await monaco.locator('.view-lines').click();
      await page.keyboard.press('Control+f');
      const find = page.locator('.part.editor .find-widget .input').first();
      await find.waitFor({ state: 'visible' });
      await page.keyboard.type('wren');
      await page
        .locator('.part.editor .find-widget .matchesCount')
        .filter({ hasText: /^1 of 1$/ })
        .waitFor();
      await page.keyboard.press('Escape');
      await page.keyboard.type('nightingale'); // letters only: no auto-closed quotes
      // The webview shows the new word (the document changed, not the file).
      await landbird(frame).locator('[data-testid=word-row][data-word="nightingale"]').waitFor({ timeout: 10_000 });
      assert.equal(
        await landbird(frame).locator('[data-testid=word-row][data-word="wren"]').count(),
        0,
        'the replaced word is gone from the webview',
      );
      assert.equal(
        await landbird(frame).locator('[data-testid=word-row][data-word="nightingale"] [data-testid=word-text]').innerText(),
        'nightingale',
      );
      await page.locator('.part.editor .tabs-container .tab.dirty').filter({ hasText: 'birds.tldr.json' }).first().waitFor();
      assert.doesNotMatch(readFileSync(file, 'utf8'), /nightingale/, 'not on disk before saving');
      await landbird(frame).locator('[data-testid=word-row][data-word="nightingale"]').scrollIntoViewIfNeeded();
      await calm(page);
      await screenshot(page, 'edit-sync-text-editor');

      // Undo in the text editor restores the word in the webview too.
      await monaco.locator('.view-lines').click();
      const wren = landbird(frame).locator('[data-testid=word-row][data-word="wren"]');
      for (let i = 0; i < 3 && !(await wren.count()); i++) {
        await page.keyboard.press('Control+z'); // typing may take more than one undo stop
        await wren.waitFor({ timeout: 3_000 }).catch(() => {});
      }
      await wren.waitFor({ timeout: 5_000 });
      assert.equal(await landbird(frame).locator('[data-testid=word-row][data-word="nightingale"]').count(), 0);
    },
  ),
);
