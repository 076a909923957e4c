// Done-when 8: in an untrusted workspace, "Start Retraining" explains that the workspace must be trusted.
import assert from 'node:assert/strict';
import test from 'node:test';
import { calm, experimentJson, notification, runCommand, screenshot, webviewFrame, withHost, workerPids, quickOpen } from './harness.mjs';

test('in an untrusted workspace Start Retraining explains that the workspace must be trusted', { timeout: 180_000 }, (t) =>
  withHost(t, { workspaceTrust: true, files: { 'birds.tldr.json': experimentJson() } }, async (host) => {
    const { page } = host;
    // Restricted Mode is on.
    await page.locator('.statusbar').getByText('Restricted Mode').first().waitFor();

    // The experiment still opens in the TLDR editor, which says why nothing runs.
    await quickOpen(page, 'birds.tldr.json');
    const frame = webviewFrame(page);
    await frame.locator('[data-testid=word-row]').first().waitFor();
    const banner = frame.locator('[data-testid=trust-banner]');
    await banner.waitFor({ state: 'visible' });
    assert.match(await banner.innerText(), /trust/i);
    assert.equal(
      (await frame.locator('[data-testid=score-words]').first().getAttribute('disabled')) !== null,
      true,
      'Score words is disabled',
    );

    await runCommand(page, 'TLDR: Start Retraining');
    const toast = notification(page, /trust/i);
    await toast.waitFor({ timeout: 15_000 });
    const text = (await toast.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /Start Retraining needs a trusted workspace/);
    await toast.getByRole('button', { name: 'Manage Workspace Trust' }).waitFor();
    assert.deepEqual(workerPids(host), [], 'no worker process started: no model is loaded');
    await calm(page);
    await screenshot(page, 'untrusted-start-retraining');
  }),
);
