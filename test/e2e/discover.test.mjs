// Discover in the real VS Code host: on the demo, the Discover tab ranks keywords per class from
// the classifier's val errors, shows the images behind a keyword (served from the world's folder),
// and picking and grouping keywords writes the spurious attribute into the experiment file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { calm, editorTab, openDemo, runCommand, savedJson, screenshot, tldrLog, waitFor, withHost } from './harness.mjs';

// the demo world's scenes and their aliases (src/engine/demo/worlds/birds.json), per spurious value
const SCENES = {
  water: ['water', 'ocean', 'sea', 'lake', 'pond', 'river', 'stream', 'marsh', 'swamp'],
  land: ['land', 'forest', 'woods', 'grassland', 'meadow', 'desert', 'dunes', 'bamboo', 'grove'],
};

test('Discover tab: ranked keywords, thumbnails, and a grouping written into the experiment', { timeout: 480_000 }, (t) =>
  withHost(t, { demo: true, settings: { 'files.autoSave': 'off' } }, async (host) => {
    const { page, workspace } = host;
    const frame = await openDemo(page);
    const file = join(workspace, 'tldr-demo', 'demo.tldr.json');
    const before = readFileSync(file, 'utf8');

    await frame.locator('[data-testid=tab-discover]').click();
    await frame.locator('[data-testid=discover-empty]').waitFor({ state: 'visible' });
    await frame.locator('[data-testid=discover-words]').fill('Oceans, pelican');
    await frame.locator('[data-testid=discover-run]').click();
    await frame.locator('[data-testid=discover-row]').first().waitFor({ state: 'visible', timeout: 180_000 });
    assert.match(tldrLog(host), /\[Discover biases\] done in/);

    const top = {};
    for (const cls of ['landbird', 'waterbird'])
      top[cls] = await frame
        .locator(`[data-testid=discover-class][data-class=${cls}] [data-testid=discover-row]`)
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-keyword')));
    t.diagnostic(`top 10: ${JSON.stringify({ landbird: top.landbird.slice(0, 10), waterbird: top.waterbird.slice(0, 10) })}`);
    const key = (w) => w.toLowerCase().replace(/s$/, ''); // "Oceans" (the user's spelling) is "ocean"
    const hits = (cls, value) => top[cls].slice(0, 5).filter((k) => SCENES[value].map(key).includes(key(k))).length;
    assert.ok(hits('landbird', 'water') >= 4, `landbird errors: ${top.landbird.slice(0, 5)}`);
    assert.ok(hits('waterbird', 'land') >= 4, `waterbird errors: ${top.waterbird.slice(0, 5)}`);
    assert.ok(top.landbird.includes('Oceans'), 'the user\u2019s word is ranked (merged with the built-in "ocean")');
    assert.match(await frame.locator('[data-testid=discover-summary]').innerText(), /keywords scored/);

    // the gallery of the top keyword of landbird: its misclassified images, then correct ones
    const first = frame.locator('[data-testid=discover-class][data-class=landbird] [data-testid=discover-row]').first();
    await first.locator('[data-testid=discover-keyword]').click();
    const gallery = frame.locator('[data-testid=discover-gallery]');
    await gallery.locator('[data-testid=gallery-misclassified] img').first().waitFor({ state: 'visible' });
    await waitFor(
      async () =>
        (
          await gallery
            .locator('img')
            .evaluateAll((imgs) =>
              imgs.map((i) => /** @type {HTMLImageElement} */ (i).complete && /** @type {HTMLImageElement} */ (i).naturalWidth > 0),
            )
        ).every(Boolean),
      20_000,
    ).catch(() => {
      throw new Error('the thumbnails did not load from the world folder');
    });
    const shown = await gallery.locator('[data-testid=gallery-misclassified] img').count();
    assert.equal(shown, 8);
    assert.equal(await gallery.locator('[data-testid=gallery-correct] img').count(), 8);
    const titles = await gallery
      .locator('[data-testid=gallery-misclassified] img')
      .evaluateAll((imgs) => imgs.map((i) => i.getAttribute('title')));
    for (const s of titles) assert.match(s, /predicted waterbird$/, 'misclassified landbirds were predicted waterbird');
    await gallery.scrollIntoViewIfNeeded();
    await calm(page);
    await screenshot(page, 'discover-gallery');

    // pick the top 3 of each class and group them: landbird errors -> water, waterbird errors -> land
    const pick = async (cls, n) => {
      const rows = frame.locator(`[data-testid=discover-class][data-class=${cls}] [data-testid=discover-row]`);
      const picked = [];
      for (let i = 0; i < n; i++) {
        await rows.nth(i).locator('[data-testid=discover-check]').click();
        picked.push(await rows.nth(i).getAttribute('data-keyword'));
      }
      return picked;
    };
    const values = frame.locator('[data-testid=group-value]');
    assert.deepEqual(await values.locator('[data-testid=group-value-name]').evaluateAll((els) => els.map((e) => e.value)), [
      'land',
      'water',
    ]);
    const water = await pick('landbird', 3);
    await values.nth(1).locator('[data-testid=group-add-picked]').click();
    const land = await pick('waterbird', 3);
    await values.nth(0).locator('[data-testid=group-add-picked]').click();
    await frame.locator('[data-testid=group-name]').fill('scene');
    assert.equal(await values.nth(1).locator('[data-testid=group-value-words]').inputValue(), water.join(', '));
    await calm(page);
    await screenshot(page, 'discover-grouping');
    await frame.locator('[data-testid=group-write]').click();
    await page.locator('.part.editor .tabs-container .tab.dirty').filter({ hasText: 'demo.tldr.json' }).waitFor({ timeout: 10_000 });
    assert.equal(readFileSync(file, 'utf8'), before, 'an unsaved edit: the file is unchanged');
    await editorTab(page, 'demo.tldr.json').click();
    await runCommand(page, 'File: Save');
    const after = await savedJson(file, before, 'saving did not write the grouping');
    const exp = JSON.parse(after);
    assert.deepEqual(exp.task.spurious, { name: 'scene', values: ['land', 'water'] });
    const texts = (v) => exp.words.spurious[v].map((w) => w.text);
    for (const w of water)
      assert.ok(
        texts('water')
          .map((x) => x.toLowerCase())
          .includes(w.toLowerCase()),
        `water has ${w}`,
      );
    for (const w of land)
      assert.ok(
        texts('land')
          .map((x) => x.toLowerCase())
          .includes(w.toLowerCase()),
        `land has ${w}`,
      );
    // a minimal edit: the class words and the sections after words.spurious keep their bytes
    const targets = before.slice(before.indexOf('"targets"'), before.indexOf('"spurious": {', before.indexOf('"words"')));
    assert.ok(after.includes(targets), 'class words unchanged');
    assert.equal(after.slice(0, after.indexOf('"name": "scene"')), before.slice(0, before.indexOf('"name": "place"')));
    // the Words tab shows the new attribute and its words
    await frame.locator('[data-testid=tab-words]').click();
    const waterTable = frame.locator('[data-testid=word-table][data-list=spurious][data-group=water]');
    await waterTable.locator(`[data-testid=word-row][data-word="${water[1]}"]`).waitFor({ timeout: 10_000 });
    await waterTable.scrollIntoViewIfNeeded();
    await calm(page);
    await screenshot(page, 'discover-written');
  }),
);
