// Activation: one log channel, the worker client, the job runner, the experiments' state, the
// tree, the editor and the commands.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { ExperimentEditorProvider, VIEW_TYPE } from './editor/provider';
import { JobRunner } from './jobs/jobRunner';
import { ExperimentState } from './state/experimentState';
import { ExperimentsTree } from './tree/tree';
import { WorkerClient } from './jobs/workerClient';
import { SlurmTracker } from './state/slurmTracker';
import { setSbatchContext } from './commands/runOnSlurm';

let worker: WorkerClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('TLDR', { log: true });
  worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath, (level, message) => log[level](message));
  const jobs = new JobRunner(worker, log);
  const state = new ExperimentState(jobs);
  const slurm = new SlurmTracker(state);
  const tree = new ExperimentsTree(state, jobs, slurm);
  const editors = new ExperimentEditorProvider(context, state, jobs);
  context.subscriptions.push(
    log,
    jobs,
    state,
    slurm,
    tree,
    vscode.window.createTreeView('tldr.experiments', { treeDataProvider: tree, showCollapseAll: true }),
    // no retainContextWhenHidden: the webview keeps its UI state with setState and the host re-sends the rest on 'ready'
    vscode.window.registerCustomEditorProvider(VIEW_TYPE, editors, { supportsMultipleEditorsPerDocument: true }),
    { dispose: () => worker?.dispose() },
  );
  registerCommands(context, state, editors, slurm);
  // "Run on Slurm…" appears where sbatch is on PATH (a cluster's login node, e.g. over Remote-SSH)
  if (setSbatchContext()) log.info('sbatch is on PATH: "TLDR: Run on Slurm…" is available');
  log.info(
    `TLDR activated (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'in Restricted Mode: no model is loaded and no run starts'})`,
  );
}

export function deactivate(): void {
  worker?.dispose();
  worker = undefined;
}
