// The "Experiments" view: every *.tldr.json in the workspace, and under each the steps of
// the current or last run and the past runs (computed by treeModel.ts).
import * as vscode from 'vscode';
import * as path from 'node:path';
import { experimentChildren, type StepStatus, type TreeNode, type LiveStatus } from './treeModel';
import type { ExperimentState } from '../state/experimentState';
import type { JobRunner } from '../jobs/jobRunner';
import { RUN_FILES_SETTLE_MS, TREE_REFRESH_MS } from '../timing';
import type { SlurmTracker } from '../state/slurmTracker';

export const EXPERIMENT_GLOB = '**/*.tldr.json';
const EXCLUDE_GLOB = '**/{node_modules,.git,.tldr}/**';

export type ExperimentsNode =
  | { kind: 'experiment'; file: string }
  | { kind: 'slurm'; file: string; id: string; label: string; description: string; tooltip: string; active: boolean; ok: boolean }
  | (TreeNode & { file: string });

const stepIcon: Record<StepStatus, vscode.ThemeIcon> = {
  pending: new vscode.ThemeIcon('circle-outline'),
  running: new vscode.ThemeIcon('sync~spin'),
  done: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  skipped: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
};
const runIcon = (s: LiveStatus) =>
  s === 'running'
    ? new vscode.ThemeIcon('sync~spin')
    : s === 'succeeded'
      ? new vscode.ThemeIcon('history')
      : s === 'cancelled'
        ? new vscode.ThemeIcon('circle-slash')
        : s === 'interrupted'
          ? new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('editorWarning.foreground'))
          : new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));

export async function findExperiments(): Promise<vscode.Uri[]> {
  const uris = await vscode.workspace.findFiles(EXPERIMENT_GLOB, EXCLUDE_GLOB, 200);
  return uris.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

export class ExperimentsTree implements vscode.TreeDataProvider<ExperimentsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExperimentsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private experiments: string[] = [];
  /** found once and kept up to date by the file watcher: searching the workspace is slow (a demo holds thousands of images) */
  private experimentsKnown = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly state: ExperimentState,
    private readonly jobs: JobRunner,
    private readonly slurm: SlurmTracker,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher(EXPERIMENT_GLOB);
    const runWatcher = vscode.workspace.createFileSystemWatcher('**/.tldr/runs/*/run.json');
    let timer: NodeJS.Timeout | undefined;
    const refreshRuns = (uri: vscode.Uri) => {
      // runs of this window arrive as the run's answer; runs of the CLI or another window are read back
      if (state.isOwnRunFile(uri.fsPath)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        if (!vscode.workspace.isTrusted) return;
        for (const f of this.experiments) if (!this.jobs.isRunning(f)) void this.state.refreshRuns(f);
      }, RUN_FILES_SETTLE_MS);
    };
    this.disposables.push(
      watcher,
      runWatcher,
      watcher.onDidCreate(() => this.refresh()),
      watcher.onDidDelete(() => this.refresh()),
      runWatcher.onDidCreate(refreshRuns),
      runWatcher.onDidChange(refreshRuns),
      runWatcher.onDidDelete(refreshRuns),
      state.onDidChange((c) => {
        if (c.what === 'runs') this.refreshSoon();
      }),
      jobs.onDidChangeJob(() => this.refreshSoon()),
      slurm.onDidChange(() => this.refreshSoon()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh()),
      this.changed,
    );
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const d of this.disposables) d.dispose();
  }

  /** the list of experiments changed: search the workspace again */
  refresh(): void {
    this.experimentsKnown = false;
    this.changed.fire(undefined);
  }

  /** steps or runs changed: redraw from the known experiments, at most every TREE_REFRESH_MS */
  private refreshSoon(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.changed.fire(undefined);
    }, TREE_REFRESH_MS);
  }

  async getChildren(node?: ExperimentsNode): Promise<ExperimentsNode[]> {
    if (!node) {
      if (!this.experimentsKnown) {
        this.experiments = (await findExperiments()).map((u) => u.fsPath);
        this.experimentsKnown = true;
        void vscode.commands.executeCommand('setContext', 'tldr.hasExperiments', this.experiments.length > 0);
      }
      return this.experiments.map((file) => ({ kind: 'experiment', file }));
    }
    if (node.kind !== 'experiment') return [];
    let records = this.state.cachedRecords(node.file);
    if (!records) {
      // reading run records goes through the worker; in Restricted Mode no worker starts
      if (vscode.workspace.isTrusted) void this.state.refreshRuns(node.file);
      records = [];
    }
    // this window's Slurm submissions first, while they run and after
    const submissions: ExperimentsNode[] = this.slurm.views(node.file).map(({ sub, view }) => ({
      kind: 'slurm',
      file: node.file,
      id: `${node.file}#slurm:${sub.arrayJobId}`,
      label: view.label,
      description: view.description,
      tooltip: view.tooltip,
      active: view.active,
      ok: view.outcome === undefined || view.outcome === 'succeeded',
    }));
    return [
      ...submissions,
      ...experimentChildren(node.file, this.state.liveRun(node.file), records).map((n) => ({ ...n, file: node.file })),
    ];
  }

  getTreeItem(node: ExperimentsNode): vscode.TreeItem {
    if (node.kind === 'experiment') {
      const uri = vscode.Uri.file(node.file);
      const item = new vscode.TreeItem(path.basename(node.file), vscode.TreeItemCollapsibleState.Expanded);
      item.id = node.file;
      item.resourceUri = uri;
      item.iconPath = new vscode.ThemeIcon('beaker');
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      const rel = folder ? path.relative(folder.uri.fsPath, path.dirname(node.file)) : path.dirname(node.file);
      item.description = rel && rel !== '.' ? rel : '';
      item.tooltip = node.file;
      item.contextValue = this.jobs.isRunning(node.file) ? 'tldr.experiment.running' : 'tldr.experiment';
      item.command = { command: 'vscode.openWith', title: 'Open', arguments: [uri, 'tldr.experimentEditor'] };
      return item;
    }
    if (node.kind === 'slurm') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.description = node.description;
      item.tooltip = node.tooltip;
      item.iconPath = node.active
        ? new vscode.ThemeIcon('sync~spin')
        : node.ok
          ? new vscode.ThemeIcon('server-process', new vscode.ThemeColor('testing.iconPassed'))
          : new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
      item.contextValue = node.active ? 'tldr.slurm.active' : 'tldr.slurm';
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = node.description;
    if (node.tooltip) item.tooltip = node.tooltip;
    if (node.kind === 'step') {
      item.iconPath = stepIcon[node.status];
      item.contextValue = `tldr.step.${node.status}`;
    } else {
      item.iconPath = runIcon(node.status);
      item.contextValue = node.status === 'running' ? 'tldr.run.running' : 'tldr.run';
      if (node.status !== 'running')
        item.command = { command: 'tldr.openReport', title: 'Open Report', arguments: [{ file: node.file, runId: node.runId }] };
    }
    return item;
  }
}
