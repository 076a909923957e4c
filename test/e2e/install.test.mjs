// Done-when 1: the packaged VSIX installs offline into a fresh host; the TLDR container appears.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import test from 'node:test';
import { activityItem, openActivity, screenshot, withHost } from './harness.mjs';

test('the packaged VSIX installs offline and the TLDR container appears', { timeout: 180_000 }, (t) =>
  withHost(t, {}, async ({ page, extensionsDir }) => {
    const installed = readdirSync(extensionsDir).filter((d) => d.startsWith('tldr-debias.tldr-debias-'));
    assert.equal(installed.length, 1, `installed extensions: ${readdirSync(extensionsDir).join(', ')}`);

    await activityItem(page, 'TLDR').waitFor({ state: 'visible', timeout: 30_000 });
    await openActivity(page, 'TLDR');
    // With a single view the container title reads "TLDR: Experiments" and the pane header is hidden.
    await page.locator('.part.sidebar .pane-header[aria-label^="Experiments"]').waitFor({ state: 'attached' });
    await screenshot(page, 'install-tldr-container');
  }));
