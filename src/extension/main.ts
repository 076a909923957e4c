// Activation: one log channel, the worker client, the job runner, the experiments' state, the
// tree, the editor and the commands.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { ExperimentEditorProvider, VIEW_TYPE } from './editor/provider';
import { JobRunner } from './jobs/jobRunner';
import { ExperimentState } from './state/experimentState';
import { ExperimentsTree } from './tree/tree';
import { WorkerClient } from './jobs/workerClient';

let worker: WorkerClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('TLDR', { log: true });
  worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath, (level, message) => log[level](message));
  const jobs = new JobRunner(worker, log);
  const state = new ExperimentState(jobs);
  const tree = new ExperimentsTree(state, jobs);
  const editors = new ExperimentEditorProvider(context, state, jobs);
  context.subscriptions.push(
    log,
    jobs,
    state,
    tree,
    vscode.window.createTreeView('tldr.experiments', { treeDataProvider: tree, showCollapseAll: true }),
    // no retainContextWhenHidden: the webview keeps its UI state with setState and the host re-sends the rest on 'ready'
    vscode.window.registerCustomEditorProvider(VIEW_TYPE, editors, { supportsMultipleEditorsPerDocument: true }),
    { dispose: () => worker?.dispose() },
  );
  registerCommands(context, state, editors);
  log.info(
    `TLDR activated (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'in Restricted Mode: no model is loaded and no run starts'})`,
  );
}

export function deactivate(): void {
  worker?.dispose();
  worker = undefined;
}
