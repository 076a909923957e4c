// Lint: typescript-eslint's recommended rules, and the layer rules of docs/architecture.md:
// the engine never imports VS Code or its shells; outside the engine, src/engine/api is the
// only door; the extension host never loads the engine (it talks to the worker); the webview
// imports only the protocol.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { paths: [], patterns }] });
const vscode = { group: ['vscode'], message: 'Only src/extension may import vscode.' };
// relative imports that climb into another top-level folder of src/ (e.g. '../worker/main', '../../engine/x')
const layer = (name, why) => ({ regex: `^(\\.\\./)+${name}(/|$)`, message: why });
const engineOnlyApi = { regex: '^(\\.\\./)+engine/(?!api$)', message: 'Outside the engine, import it only through src/engine/api.' };

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'out/',
      '.vsix-cache/',
      'vsix/',
      'dist/',
      'media/',
      'test/e2e/artifacts/',
      'bench/models/',
      'test/fixtures/',
      '**/*.py',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser, acquireVsCodeApi: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // tests build raw (invalid) experiment JSON on purpose
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: restrict(
      vscode,
      layer('extension', 'The engine never imports the extension.'),
      layer('worker', 'The engine never imports the worker.'),
      layer('llm', 'The engine never imports src/llm.'),
      layer('cli', 'The engine never imports the CLI.'),
    ),
  },
  {
    files: ['src/experiment/**/*.ts', 'src/protocol/**/*.ts'],
    rules: restrict(
      vscode,
      layer('engine', 'Shared modules never import the engine.'),
      layer('extension', 'Shared modules never import the extension.'),
      layer('worker', 'Shared modules never import the worker.'),
      layer('llm', 'Shared modules never import src/llm.'),
      layer('cli', 'Shared modules never import the CLI.'),
    ),
  },
  {
    files: ['src/llm/**/*.ts'],
    rules: restrict(
      vscode,
      engineOnlyApi,
      layer('extension', 'src/llm never imports the extension.'),
      layer('worker', 'src/llm never imports the worker.'),
      layer('cli', 'src/llm never imports the CLI.'),
    ),
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: restrict(
      vscode,
      engineOnlyApi,
      layer('extension', 'The CLI never imports the extension.'),
      layer('worker', 'The CLI never imports the worker.'),
    ),
  },
  {
    files: ['src/worker/**/*.ts'],
    rules: restrict(
      vscode,
      engineOnlyApi,
      layer('extension', 'The worker never imports the extension.'),
      layer('cli', 'The worker never imports the CLI.'),
    ),
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: restrict(
      layer('engine', 'The extension host never loads the engine: it asks the worker (src/protocol/worker.ts).'),
      layer('llm', 'The extension host never calls the LLM: the worker does.'),
      layer('cli', 'The extension never imports the CLI.'),
      layer('worker', 'The extension talks to the worker over JSON-RPC only.'),
    ),
  },
  {
    // the benchmark runs on the tsc output (out/) and measures the engine through api.ts's `kernels`
    files: ['bench/**/*.mjs'],
    rules: restrict({
      regex: '(^|/)out/src/(?!engine/api(\\.js)?$)',
      message: 'The benchmark imports the engine only through out/src/engine/api.js (its `kernels`).',
    }),
  },
  {
    files: ['webview/**/*.ts'],
    rules: restrict(
      vscode,
      { regex: '^(\\.\\./)+src/(?!protocol/)', message: 'The webview imports only src/protocol.' },
      { regex: '^node:', message: 'The webview runs in a browser.' },
    ),
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { sourceType: 'module' },
  },
);
