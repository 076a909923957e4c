// Which experiment a command acts on: its argument (tree item, editor), else the active TLDR
// editor, else the only experiment in the workspace, else a quick pick.
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { WordListKind } from '../../protocol/events';
import { VIEW_TYPE, type ExperimentEditorProvider } from '../editor/provider';
import { findExperiments } from '../tree/tree';

/** What command arguments can be: a file Uri, or a tree item / webview request naming one. */
export type CommandArg =
  vscode.Uri | { file?: string; uri?: vscode.Uri; runId?: string; list?: WordListKind; group?: string; words?: string[] } | undefined;

function uriOf(arg: CommandArg): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (arg && typeof arg === 'object') {
    if (arg.uri instanceof vscode.Uri) return arg.uri;
    if (typeof arg.file === 'string') return vscode.Uri.file(arg.file);
  }
  return undefined;
}

export async function pickExperiment(arg: CommandArg, editors: ExperimentEditorProvider): Promise<vscode.Uri | undefined> {
  const direct = uriOf(arg);
  if (direct) return direct;
  if (editors.activeDocument) return editors.activeDocument.uri;
  const activeText = vscode.window.activeTextEditor?.document;
  if (activeText?.fileName.endsWith('.tldr.json')) return activeText.uri;
  const tabInput = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tabInput instanceof vscode.TabInputCustom && tabInput.viewType === VIEW_TYPE) return tabInput.uri;
  const all = await findExperiments();
  if (all.length === 1) return all[0];
  if (all.length === 0) {
    void vscode.window.showErrorMessage(
      'TLDR: there is no *.tldr.json experiment in this workspace. Run "TLDR: Open Demo" or "TLDR: New Experiment".',
    );
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    all.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(path.dirname(u.fsPath)), uri: u })),
    { title: 'TLDR: which experiment?' },
  );
  return pick?.uri;
}

/** Refuses in Restricted Mode, with the reason and a way to change it. */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  void vscode.window
    .showErrorMessage(
      `TLDR: ${action} needs a trusted workspace. In Restricted Mode no model is loaded and no run starts, because models and data paths come from the workspace. Trust this workspace to continue.`,
      manage,
    )
    .then((pick) => pick === manage && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

/** Jobs read the file from disk: save pending edits first so they see what the user sees. */
export async function saveIfDirty(uri: vscode.Uri): Promise<void> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (doc?.isDirty) await doc.save();
}
