// Issue 14: "TLDR: Run on Slurm…" in the real VS Code host against a real single-node Slurm (the
// cluster of test/slurm/, compiled into out/): the command is offered because sbatch is on PATH,
// asks for the number of tasks, submits through the worker, and the tree shows the array's state
// from squeue until the run job's run.json says it succeeded; the run then appears in the tree.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import test from 'node:test';
import { calm, openActivity, openDemo, repoRoot, screenshot, tldrLog, treeDescription, treeRows, withHost } from './harness.mjs';

const require = createRequire(import.meta.url);
const clusterJs = join(repoRoot, 'out', 'test', 'slurm', 'cluster.js');
const cluster = existsSync(clusterJs) ? require(clusterJs) : undefined;
const skip = !cluster ? 'out/test/slurm/cluster.js is missing: run npm run compile first' : cluster.unavailable();

/** how much of the TLDR log a failure message shows */
const LOG_TAIL_CHARS = 3000;

test('Run on Slurm… submits 2 tasks and the tree follows the array until the run succeeded', { skip, timeout: 600_000 }, async (t) => {
  const c = await cluster.startCluster();
  const saved = process.env.SLURM_CONF;
  process.env.SLURM_CONF = c.env.SLURM_CONF; // the host (and its worker, and sbatch) inherit it
  try {
    await withHost(t, { demo: true }, async (host) => {
      const { page } = host;
      await openDemo(page);
      await openActivity(page, 'TLDR');
      // not runCommand: it waits for the palette to close, and this command opens its input box at once
      const input = page.locator('.quick-input-widget input');
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible' });
      await input.fill('>TLDR: Run on Slurm…');
      // offered because sbatch is on PATH (the context key set at activation)
      await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'TLDR: Run on Slurm…' }).waitFor({ timeout: 30_000 });
      await input.press('Enter');
      // the same widget becomes the input box that asks for the number of tasks
      await page.locator('.quick-input-widget input[aria-label="TLDR: Run demo.tldr.json on Slurm"]').waitFor({ state: 'visible' });
      await input.fill('2');
      await input.press('Enter');

      const row = treeRows(page, 'Slurm ').first();
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      const seen = [];
      let pictured = false;
      for (const end = Date.now() + 480_000; ; await new Promise((r) => setTimeout(r, 500))) {
        const d = await treeDescription(row);
        if (seen.at(-1) !== d) seen.push(d);
        if (!pictured && /^encode /.test(d)) {
          pictured = true;
          await calm(page);
          await screenshot(page, 'slurm-in-progress');
        }
        if (/^run (succeeded|failed|cancelled)|ended without/.test(d)) break;
        if (Date.now() > end) throw new Error(`the Slurm row never ended: ${seen.join(' | ')}\n${tldrLog(host).slice(-3000)}`);
      }
      assert.equal(seen.at(-1), 'run succeeded', `${seen.join(' | ')}\n${tldrLog(host).slice(-LOG_TAIL_CHARS)}`);
      assert.ok(
        seen.some((d) => /^encode \d\/2 done/.test(d)),
        `the array's state was shown: ${seen.join(' | ')}`,
      );
      // the run job's run is listed among the runs, with its worst-group accuracy
      await treeRows(page, 'run ')
        .filter({ hasText: /worst-group/ })
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
      assert.match(tldrLog(host), /\[slurm\] submitted .*encode array \d+ \(2 tasks\), run job \d+/);
      await calm(page);
      await screenshot(page, 'slurm-succeeded');
    });
  } finally {
    if (saved === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = saved;
    c.stop();
  }
});
