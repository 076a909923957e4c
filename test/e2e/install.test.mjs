// Done-when 1: the packaged VSIX installs offline into a fresh host; the TLDR container appears.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { activityItem, openActivity, screenshot, sidebarIdle, tldrLog, vscodeLogs, waitFor, withHost } from './harness.mjs';

test('the packaged VSIX installs offline and the TLDR container appears', { timeout: 180_000 }, (t) =>
  withHost(t, { installVsix: true }, async (host) => {
    const { page, extensionsDir } = host;
    const installed = readdirSync(extensionsDir).filter((d) => d.startsWith('tldr-debias.tldr-debias-'));
    assert.equal(installed.length, 1, `installed extensions: ${readdirSync(extensionsDir).join(', ')}`);
    const ext = join(extensionsDir, installed[0]);
    assert.match(readFileSync(join(ext, '.vsixmanifest'), 'utf8'), /TargetPlatform="linux-x64"/, 'a platform-specific VSIX');
    assert.deepEqual(
      readdirSync(join(ext, 'node_modules/onnxruntime-node/bin/napi-v6')),
      ['linux'],
      'only linux binaries of onnxruntime-node',
    );

    await activityItem(page, 'TLDR').waitFor({ state: 'visible', timeout: 30_000 });
    await openActivity(page, 'TLDR');
    // With a single view the container title reads "TLDR: Experiments" and the pane header is hidden.
    await page.locator('.part.sidebar .pane-header[aria-label^="Experiments"]').waitFor({ state: 'attached' });
    // An empty workspace: the welcome view offers the demo.
    await page.locator('.part.sidebar .welcome-view-content').getByRole('button', { name: 'Open Demo' }).waitFor({ state: 'visible' });

    // Opening the view activated the extension, without errors.
    await waitFor(() => /TLDR activated/.test(tldrLog(host)), 30_000).catch(() => {
      throw new Error(
        `the extension did not log its activation:\n${vscodeLogs(host)
          .map((f) => `--- ${f.path}\n${f.text}`)
          .join('\n')}`,
      );
    });
    const exthost = vscodeLogs(host)
      .filter((f) => f.path.endsWith('remoteexthost.log'))
      .map((f) => f.text)
      .join('');
    assert.doesNotMatch(exthost, /Activating extension 'tldr-debias\.tldr-debias' failed/);

    await page.locator('.statusbar').getByText('Activating Extensions').waitFor({ state: 'hidden' });
    await sidebarIdle(page);
    await page.mouse.move(700, 450); // no hover tooltip in the picture
    await page.keyboard.press('Escape');
    await page
      .locator('.workbench-hover-container')
      .waitFor({ state: 'hidden', timeout: 5_000 })
      .catch(() => {});
    await screenshot(page, 'install-tldr-container');
  }),
);
