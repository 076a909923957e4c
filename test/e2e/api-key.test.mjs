// Done-when 7: "TLDR: Set API Key" stores the key in SecretStorage: it appears in no settings
// file and in no log, while the extension still uses it (Generate Words against a local fake
// OpenAI-compatible endpoint receives it); "Clear API Key" removes it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import test from 'node:test';
import {
  calm,
  experimentJson,
  notification,
  outputText,
  runCommand,
  screenshot,
  vscodeLogs,
  webviewFrame,
  withHost,
  quickOpen,
} from './harness.mjs';

const KEY = 'sk-test-SECRET-1234567890abcdef';

/** An OpenAI-compatible chat endpoint on 127.0.0.1 that answers with a word list and records the auth headers. */
async function fakeLlm() {
  const auth = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      auth.push(req.headers.authorization ?? '');
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      n++;
      const words = [`kestrel${n}`, `osprey${n}`];
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: 'fake',
          choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify({ words }) }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${port}/v1`, auth, close: () => new Promise((r) => server.close(r)) };
}

/** Every file under dir (recursively) whose content contains `needle`. */
function filesContaining(dir, needle) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((p) => {
      try {
        return readFileSync(p).includes(needle);
      } catch {
        return false;
      }
    });
}

test(
  'Set API Key keeps the key in SecretStorage only: in no settings file, no log; Generate Words uses it',
  { timeout: 180_000 },
  async (t) => {
    const llm = await fakeLlm();
    try {
      await withHost(
        t,
        { files: { 'birds.tldr.json': experimentJson() }, settings: { 'tldr.llm.baseUrl': llm.url, 'tldr.llm.model': 'fake' } },
        async (host) => {
          const { page, workspace, userDataDir } = host;

          // Set the key in the password input box.
          await runCommand(page, 'TLDR: Set API Key');
          const input = page.locator('.quick-input-widget input');
          await input.waitFor({ state: 'visible' });
          assert.equal(await input.getAttribute('type'), 'password', 'the key is typed into a password box');
          await input.fill(KEY);
          await calm(page);
          await screenshot(page, 'api-key-input');
          await input.press('Enter');
          await notification(page, 'API key stored in the secret storage').waitFor();

          // The extension uses it: Generate Words on the experiment sends it to the endpoint.
          await quickOpen(page, 'birds.tldr.json');
          const frame = webviewFrame(page);
          await frame.locator('[data-testid=word-row]').first().waitFor();
          await runCommand(page, 'TLDR: Generate Words');
          await notification(page, /TLDR: added \d+ new words?/).waitFor({ timeout: 60_000 });
          assert.ok(llm.auth.length > 0, 'the endpoint was called');
          assert.deepEqual([...new Set(llm.auth)], [`Bearer ${KEY}`], 'with the stored key');
          await frame.locator('[data-testid=word-row][data-word="kestrel1"]').waitFor({ timeout: 10_000 });
          await runCommand(page, 'TLDR: Show Logs');
          await page.locator('.part.panel .view-lines').first().waitFor({ state: 'visible' });
          await calm(page);
          await screenshot(page, 'api-key-generated-words');

          // The key is in no settings file and in no log (VS Code's logs, the TLDR channel, the Output panel).
          const settingsFiles = [join(userDataDir, 'User', 'settings.json'), join(workspace, '.vscode', 'settings.json')];
          for (const f of settingsFiles) if (existsSync(f)) assert.ok(!readFileSync(f, 'utf8').includes(KEY), `not in ${f}`);
          const logs = vscodeLogs(host);
          assert.ok(
            logs.some((f) => /TLDR\.log$/.test(f.path)),
            `the TLDR channel's log file is among ${logs.map((f) => f.path).join(', ')}`,
          );
          assert.deepEqual(
            logs.filter((f) => f.text.includes(KEY) || f.text.includes(KEY.slice(-16))).map((f) => f.path),
            [],
            'the key is in no log file',
          );
          assert.ok(!(await outputText(page)).includes(KEY.slice(-16)), 'not in the Output panel');
          // Nor anywhere else in the workspace, the user settings folder or the extension's storage as plain text.
          assert.deepEqual(filesContaining(workspace, KEY), [], 'not in the workspace');
          assert.deepEqual(
            filesContaining(join(userDataDir, 'User'), KEY).filter((p) => !/\.vscdb$/.test(p)),
            [],
            'not in a plain file of the user data',
          );

          // Clear API Key removes it: Generate Words asks for a key again.
          await runCommand(page, 'TLDR: Clear API Key');
          await notification(page, 'API key removed from the secret storage').waitFor();
          const calls = llm.auth.length;
          await frame.locator('[data-testid=word-row]').first().click();
          await runCommand(page, 'TLDR: Generate Words');
          await notification(page, 'no API key for the LLM endpoint').waitFor();
          assert.equal(llm.auth.length, calls, 'no request without a key');
        },
      );
    } finally {
      await llm.close();
    }
  },
);
