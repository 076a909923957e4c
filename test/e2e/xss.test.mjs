// Done-when 6: a word `<img src=x onerror=alert(1)>` is shown as literal text and runs nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { calm, experimentJson, screenshot, waitFor, webviewFrame, withHost, quickOpen } from './harness.mjs';

const EVIL = '<img src=x onerror=alert(1)>';

test('a word with HTML in it is shown as literal text and runs nothing', { timeout: 180_000 }, (t) =>
  withHost(t, { files: { 'birds.tldr.json': experimentJson() }, settings: { 'files.autoSave': 'off' } }, async (host) => {
    const { page, workspace } = host;
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()} (${m.location().url})`));
    const requests = [];
    page.context().on('request', (r) => requests.push(r.url()));
    const failed = [];
    page.context().on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });

    // Open the experiment in the TLDR editor (the default editor of *.tldr.json).
    await quickOpen(page, 'birds.tldr.json');
    const frame = webviewFrame(page);
    const table = frame.locator('[data-testid=word-table][data-list=targets][data-group=landbird]');
    await table.locator('[data-testid=word-row]').first().waitFor();

    // Type the word into the add-word input and press Add.
    await table.locator('[data-testid=add-word-input]').fill(EVIL);
    await table.locator('[data-testid=add-word-button]').click();
    const row = table.locator('[data-testid=word-row]').nth(2);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-word'), EVIL);
    assert.equal(await row.locator('[data-testid=word-text]').evaluate((e) => e.textContent), EVIL, 'the word is its own text');
    assert.equal(await row.locator('[data-testid=word-text]').innerText(), EVIL, 'and is shown as such');
    assert.equal(await row.locator('[data-testid=word-text] *').count(), 0, 'no element inside the word');

    // Nothing ran: no <img> anywhere in the webview, no dialog, no request for "x", no error about it.
    await new Promise((r) => setTimeout(r, 1_000)); // time for an onerror to fire, had an <img> been made
    assert.equal(await frame.locator('img').count(), 0, 'no img element in the webview');
    assert.equal(await frame.locator('body').evaluate(() => document.querySelectorAll('img, [onerror]').length), 0);
    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(
      requests.filter((u) => /\/x(\?|$)/.test(u)),
      [],
      'nothing requested "x"',
    );
    if (failed.length) t.diagnostic(`failed responses (not from the word): ${failed.join(', ')}`);
    assert.deepEqual(
      consoleLines.filter((l) => /onerror|alert|img-src|Refused to load the image|\/x\b/i.test(l)),
      [],
      'no console message about it',
    );

    // The edit reached the document as a JSON string (dirty; saved as such).
    await page.locator('.part.editor .tabs-container .tab.dirty').filter({ hasText: 'birds.tldr.json' }).waitFor({ timeout: 10_000 });
    await row.locator('[data-testid=word-text]').click();
    await page.keyboard.press('Control+s');
    const file = join(workspace, 'birds.tldr.json');
    await waitFor(() => readFileSync(file, 'utf8').includes('onerror'), 10_000);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(
      saved.words.targets.landbird.map((w) => w.text),
      ['sparrow', 'finch', EVIL],
    );

    await calm(page);
    await screenshot(page, 'xss-literal-word');
  }),
);
