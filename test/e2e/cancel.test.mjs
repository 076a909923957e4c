// "TLDR: Cancel Run" stops a running run and the tree view shows it cancelled. How fast is a
// benchmark figure (the opt-in row cancel-latency: node bench/run.mjs --rows cancel-latency, see
// bench/uiLatency.mjs), not a pass/fail bound here.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import {
  calm,
  openActivity,
  openDemo,
  runCommand,
  screenshot,
  tldrLog,
  treeDescription,
  treeItem,
  treeRows,
  withHost,
} from './harness.mjs';

test('Cancel Run stops a running run and the tree shows it cancelled', { timeout: 300_000 }, (t) =>
  withHost(t, { demo: true }, async (host) => {
    const { page } = host;
    const frame = await openDemo(page);
    await openActivity(page, 'TLDR');

    // Open Demo's scoring filled the embedding cache, which makes a run take seconds; start from a
    // cold cache so that "Encode images" runs long enough to be cancelled in the middle.
    rmSync(join(host.workspace, 'tldr-demo', '.tldr', 'cache'), { recursive: true, force: true });
    await runCommand(page, 'TLDR: Start Retraining');
    const runRow = page
      .locator('.part.sidebar .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: /^run / }) })
      .first();
    // Wait until a step runs (a step row, not the run row, says "running N%").
    const stepRunning = page
      .locator('.part.sidebar .monaco-list-row')
      .filter({ hasNot: page.locator('.label-name', { hasText: /^run / }) })
      .filter({ has: page.locator('.label-description', { hasText: /^running \d+%$/ }) });
    await stepRunning.filter({ has: page.locator('.label-name', { hasText: /^Encode images$/ }) }).waitFor({ timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 1_000)); // well inside the step
    const step = (await stepRunning.first().locator('.label-name').innerText()).trim();
    t.diagnostic(`cancelling during step "${step}"`);

    const entered = await runCommand(page, 'TLDR: Cancel Run');
    await runRow
      .locator('.label-description')
      .filter({ hasText: /cancelled/ })
      .waitFor({ timeout: 15_000 });
    const elapsed = Date.now() - entered;
    t.diagnostic(`the tree showed the run cancelled ${elapsed} ms after Cancel Run`);

    // Nothing runs any more: no step is running, the step in flight shows cancelled.
    assert.equal(await stepRunning.count(), 0, 'no step still running');
    assert.equal(await treeDescription(treeItem(page, step)), 'cancelled', `the running step "${step}" shows cancelled`);
    assert.doesNotMatch(await treeDescription(runRow), /worst-group|succeeded|failed/);
    // The job is over: the editor's job bar is hidden, the status bar item gone.
    await frame.locator('[data-testid=job-status]').waitFor({ state: 'hidden', timeout: 5_000 });
    await page
      .locator('.statusbar')
      .getByText(/TLDR: retraining/)
      .waitFor({ state: 'hidden', timeout: 5_000 });
    const log = tldrLog(host);
    assert.match(log, /\[run\] cancel requested/);
    assert.match(log, /\[run\] (run \S+ )?cancelled/);
    if (/did not stop within/.test(log)) t.diagnostic('the engine did not stop in time: the worker was killed');
    await calm(page);
    await screenshot(page, 'cancel-run');
    assert.equal(await treeRows(page, 'running').count(), 0);
  }),
);
