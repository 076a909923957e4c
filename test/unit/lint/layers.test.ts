// The layer rules of docs/architecture.md, as ESLint enforces them in `npm test`: an import that
// crosses a layer is an error, the allowed ones are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { repoRoot } from '../../helpers/paths';

const eslint = new ESLint({ cwd: repoRoot });

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(repoRoot, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const cases: { file: string; import: string; why?: RegExp }[] = [
  { file: 'src/engine/steps/x.ts', import: 'vscode', why: /Only src\/extension may import vscode/ },
  { file: 'src/engine/x.ts', import: '../extension/state/experimentState', why: /never imports the extension/ },
  { file: 'src/engine/x.ts', import: '../llm/generate', why: /never imports src\/llm/ },
  { file: 'src/engine/steps/x.ts', import: '../../cli/io', why: /never imports the CLI/ },
  { file: 'src/cli/commands/x.ts', import: '../../engine/pipeline', why: /only through src\/engine\/api/ },
  { file: 'src/llm/x.ts', import: '../engine/cache', why: /only through src\/engine\/api/ },
  { file: 'src/worker/x.ts', import: '../engine/runs/store', why: /only through src\/engine\/api/ },
  { file: 'src/extension/x.ts', import: '../engine/api', why: /never loads the engine/ },
  { file: 'src/extension/tree/x.ts', import: '../../llm/generate', why: /never calls the LLM/ },
  { file: 'src/experiment/x.ts', import: '../engine/api', why: /Shared modules never import the engine/ },
  { file: 'src/protocol/x.ts', import: '../extension/timing', why: /Shared modules never import the extension/ },
  { file: 'webview/x.ts', import: '../src/experiment', why: /The webview imports only src\/protocol/ },
  { file: 'webview/x.ts', import: 'node:fs', why: /runs in a browser/ },
  { file: 'bench/x.mjs', import: '../out/src/engine/math/rng.js', why: /only through out\/src\/engine\/api\.js/ },
  { file: 'bench/x.mjs', import: '../out/src/experiment/schema.js', why: /only through out\/src\/engine\/api\.js/ },
  // allowed
  { file: 'bench/x.mjs', import: '../out/src/engine/api.js' },
  { file: 'src/cli/commands/x.ts', import: '../../engine/api' },
  { file: 'src/engine/steps/x.ts', import: '../../experiment' },
  { file: 'src/extension/x.ts', import: '../protocol/worker' },
  { file: 'src/extension/editor/x.ts', import: '../jobs/workerClient' },
  { file: 'webview/x.ts', import: '../src/protocol/webview' },
  { file: 'src/extension/x.ts', import: 'vscode' },
];

for (const c of cases) {
  test(`${c.file} importing ${c.import}: ${c.why ? 'rejected' : 'allowed'}`, async () => {
    const messages = await restricted(c.file, `import * as m from '${c.import}';\nexport const x = m;\n`);
    if (c.why) assert.match(messages.join('\n'), c.why);
    else assert.deepEqual(messages, []);
  });
}
