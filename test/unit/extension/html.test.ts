import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, editorHtml, makeNonce } from '../../../src/extension/editor/html';

test('the CSP allows only nonce scripts and the webview source, nothing remote', () => {
  const csp = contentSecurityPolicy('https://file+.vscode-resource.vscode-cdn.net', 'abc');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
});

test('the shell carries the nonce on its only script and a fresh nonce each time', () => {
  const n = makeNonce();
  assert.match(n, /^[A-Za-z0-9]{16,}$/);
  assert.notEqual(makeNonce(), n);
  const html = editorHtml({ cspSource: 'vscode-src', nonce: n, scriptUri: 'media/webview.js', styleUri: 'media/webview.css' });
  const scripts = html.match(/<script[^>]*>/g) ?? [];
  assert.equal(scripts.length, 1);
  assert.ok(scripts[0]!.includes(`nonce="${n}"`));
  assert.doesNotMatch(html, /https?:\/\//);
});
