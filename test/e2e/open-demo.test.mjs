// Done-when 2: "TLDR: Open Demo" from the command palette creates the demo experiment in the
// workspace and opens it in the editor; the words appear with scores, and the known-bad demo
// words show as failing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { calm, editorTab, openDemo, screenshot, tldrLog, treeItem, withHost } from './harness.mjs';

/** A word's row in one table of the Words tab (data-word is the text as written in the file). */
const row = (frame, list, group, word) =>
  frame.locator(`[data-testid=word-table][data-list=${list}][data-group=${group}] [data-testid=word-row][data-word="${word}"]`);

test('Open Demo creates the demo, opens it in the editor and shows scored words, the bad ones failing', { timeout: 300_000 }, (t) =>
  withHost(t, {}, async (host) => {
    const { page, workspace } = host;
    const t0 = Date.now();
    const frame = await openDemo(page);
    t.diagnostic(`Open Demo until every word is scored: ${Date.now() - t0} ms`);

    // The experiment is written into the workspace and opened in the TLDR custom editor.
    const file = join(workspace, 'tldr-demo', 'demo.tldr.json');
    assert.ok(existsSync(file), 'tldr-demo/demo.tldr.json exists in the workspace');
    const exp = JSON.parse(readFileSync(file, 'utf8'));
    assert.ok(
      exp.words.targets.landbird.some((w) => w.text === 'MALLARD'),
      'the demo file lists MALLARD under landbird',
    );
    assert.equal(await editorTab(page, 'demo.tldr.json').count(), 1, 'one editor tab for the demo');
    assert.equal(await page.locator('.part.editor .editor-instance .monaco-editor').count(), 0, 'a webview, not the text editor');
    await frame.getByRole('heading', { name: /Demo: birds on land and water/ }).waitFor();
    await treeItem(page, 'demo.tldr.json').waitFor({ state: 'visible' }); // the Experiments view lists it

    // Every word of every table is scored: pass/fail, never "unscored".
    const rows = frame.locator('[data-testid=word-row]');
    const nRows = await rows.count();
    const nWords = ['targets', 'spurious'].reduce((n, list) => n + Object.values(exp.words[list]).reduce((m, ws) => m + ws.length, 0), 0);
    assert.equal(nRows, nWords, 'one row per word of the file');
    const states = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-pass')));
    assert.deepEqual([...new Set(states)].sort(), ['false', 'true'], 'rows are scored (some pass, some fail)');
    // The badges carry the numbers.
    const clip = await frame.locator('[data-testid=word-row] [data-testid=clip-badge]').first().innerText();
    assert.match(clip, /^[✓✗] [+−-]?\d/, `a CLIP badge shows a margin: "${clip}"`);
    const logit = await frame.locator('[data-list=targets] [data-testid=word-row] [data-testid=logit-badge]').first().innerText();
    assert.match(logit, /^[✓✗] [+−-]?\d/, `a logit badge shows a margin: "${logit}"`);

    // The known-bad words fail.
    const bad = [
      ['targets', 'landbird', 'MALLARD', 'a water bird listed as a land bird'],
      ['targets', 'waterbird', 'robin', 'a land bird listed as a water bird'],
      ['targets', 'landbird', 'sparrow', 'a duplicate of "Sparrow" in the same list'],
      ['spurious', 'water', 'desert', 'a land background listed as water'],
    ];
    const wrong = [];
    for (const [list, group, word, why] of bad) {
      const r = row(frame, list, group, word);
      assert.equal(await r.count(), 1, `one row "${word}" in ${list}/${group}`);
      const pass = await r.getAttribute('data-pass');
      const title = await r.locator('[data-testid=clip-badge]').getAttribute('title');
      if (pass !== 'false')
        wrong.push(`${list}/${group} "${word}" (${why}) shows data-pass="${pass}" (CLIP badge title: ${JSON.stringify(title)})`);
    }
    // Every repeat of a word in the same list fails (the engine marks it "duplicate of …"),
    // e.g. the second "gull" under waterbird and the second "ocean" under water.
    for (const table of await frame.locator('[data-testid=word-table]').all()) {
      const where = `${await table.getAttribute('data-list')}/${await table.getAttribute('data-group')}`;
      const seen = new Set();
      for (const r of await table.locator('[data-testid=word-row]').all()) {
        const word = /** @type {string} */ (await r.getAttribute('data-word'));
        const key = word.trim().toLowerCase().replace(/\s+/g, ' ');
        if (seen.has(key) && !(where === 'targets/landbird' && word === 'sparrow')) {
          // sparrow: checked above
          const pass = await r.getAttribute('data-pass');
          if (pass !== 'false') wrong.push(`${where} "${word}" repeats an earlier word of the list but shows data-pass="${pass}"`);
        }
        seen.add(key);
      }
    }
    // Good words pass (the demo's classifier and CLIP agree on them).
    for (const [list, group, word] of [
      ['targets', 'waterbird', 'duck'],
      ['spurious', 'water', 'ocean'],
      ['spurious', 'land', 'forest'],
    ]) {
      const pass = await row(frame, list, group, word).first().getAttribute('data-pass');
      if (pass !== 'true') wrong.push(`${list}/${group} "${word}" (a good word) shows data-pass="${pass}"`);
    }
    // The summary counts what the engine counted (the TLDR log: "[score] N words scored, M failing").
    const logged = /\[score\] (\d+) words scored, (\d+) failing/.exec(tldrLog(host));
    const summary = await frame.locator('[data-testid=words-summary]').innerText();
    t.diagnostic(`engine: ${logged?.[0]}; webview: ${summary}`);
    if (logged && !summary.includes(`${logged[1]} words · ${logged[2]} failing`))
      wrong.push(`the summary reads "${summary}", the engine scored ${logged[1]} words with ${logged[2]} failing`);

    // Pictures of a class table and a spurious table, each from its heading down.
    const scrollToGroup = (list, group) =>
      frame
        .locator(`[data-testid=word-table][data-list=${list}][data-group=${group}]`)
        .evaluate((el) => (el.closest('section') ?? el).scrollIntoView({ block: 'start' }));
    await scrollToGroup('targets', 'landbird');
    await calm(page);
    await screenshot(page, 'open-demo-words');
    await scrollToGroup('spurious', 'water');
    await screenshot(page, 'open-demo-spurious');
    assert.deepEqual(wrong, [], 'the demo words are marked as expected');
  }),
);
