// The "TLDR:" commands. Commands that act on an experiment take it from their argument
// (tree item, editor), else the active TLDR editor, else the only experiment in the
// workspace, else a quick pick.
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { WordListKind } from '../protocol/events';
import { addGeneratedWords, newExperimentText } from '../experiment';
import { replaceDocumentText, VIEW_TYPE, type ExperimentEditorProvider } from './editor';
import type { Jobs } from './jobs';
import { findExperiments } from './tree';

export const API_KEY_SECRET = 'tldr.llm.apiKey';

type Target = vscode.Uri | { file?: string; uri?: vscode.Uri; runId?: string; list?: WordListKind; group?: string } | undefined;

function uriOf(arg: Target): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (arg && typeof arg === 'object') {
    if (arg.uri instanceof vscode.Uri) return arg.uri;
    if (typeof arg.file === 'string') return vscode.Uri.file(arg.file);
  }
  return undefined;
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

export function registerCommands(context: vscode.ExtensionContext, jobs: Jobs, editors: ExperimentEditorProvider): void {
  const reg = (id: string, fn: (arg?: Target) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  async function pickExperiment(arg: Target): Promise<vscode.Uri | undefined> {
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

  /** Jobs read the file from disk: save pending edits first so they see what the user sees. */
  async function saveIfDirty(uri: vscode.Uri): Promise<void> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty) await doc.save();
  }

  reg('tldr.scoreWords', async (arg) => {
    if (!requireTrust('Score Words')) return;
    const uri = await pickExperiment(arg);
    if (!uri) return;
    await saveIfDirty(uri);
    await jobs.scoreWords(uri.fsPath);
  });

  reg('tldr.startRun', async (arg) => {
    if (!requireTrust('Start Retraining')) return;
    const uri = await pickExperiment(arg);
    if (!uri) return;
    await saveIfDirty(uri);
    await jobs.startRun(uri.fsPath);
  });

  reg('tldr.cancelRun', async () => {
    if (!(await jobs.cancel())) void vscode.window.showInformationMessage('TLDR: no job is running.');
  });

  reg('tldr.showLogs', () => jobs.log.show(true));

  reg('tldr.openDemo', async () => {
    if (!requireTrust('Open Demo')) return;
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showErrorMessage('TLDR: open a folder first; the demo is written into it (tldr-demo/).');
      return;
    }
    const dir = vscode.Uri.joinPath(folder.uri, 'tldr-demo');
    let file = vscode.Uri.joinPath(dir, 'demo.tldr.json');
    let exists = true;
    try {
      await vscode.workspace.fs.stat(file);
    } catch {
      exists = false;
    }
    // an existing demo is reopened, never overwritten: it may hold the user's edits
    if (!exists) {
      const written = await jobs.createDemo(dir.fsPath);
      if (!written) return;
      file = vscode.Uri.file(written);
    }
    await vscode.commands.executeCommand('vscode.openWith', file, VIEW_TYPE);
    await jobs.scoreWords(file.fsPath);
  });

  reg('tldr.newExperiment', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showErrorMessage('TLDR: open a folder first; the experiment file is written into it.');
      return;
    }
    const list = (s: string) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    const needTwo = (s: string) => (new Set(list(s)).size >= 2 ? undefined : 'Enter at least two distinct names, separated by commas.');
    const name = await vscode.window.showInputBox({
      title: 'New TLDR experiment (1/4)',
      prompt: 'Experiment name (the file becomes <name>.tldr.json)',
      value: 'experiment',
      validateInput: (s) => (/^[\w.-]+$/.test(s.trim()) ? undefined : 'Letters, digits, ".", "-" and "_" only.'),
    });
    if (!name) return;
    const classes = await vscode.window.showInputBox({
      title: 'New TLDR experiment (2/4)',
      prompt: 'Class names, comma-separated',
      value: 'landbird, waterbird',
      validateInput: needTwo,
    });
    if (!classes) return;
    const attr = await vscode.window.showInputBox({
      title: 'New TLDR experiment (3/4)',
      prompt: 'The spurious attribute the classifier leans on',
      value: 'background',
      validateInput: (s) => (s.trim() ? undefined : 'Required.'),
    });
    if (!attr) return;
    const values = await vscode.window.showInputBox({
      title: 'New TLDR experiment (4/4)',
      prompt: `Values of "${attr.trim()}", comma-separated`,
      value: 'land, water',
      validateInput: needTwo,
    });
    if (!values) return;
    const file = vscode.Uri.joinPath(folder.uri, `${name.trim()}.tldr.json`);
    try {
      await vscode.workspace.fs.stat(file);
      void vscode.window.showErrorMessage(`TLDR: ${vscode.workspace.asRelativePath(file)} already exists.`);
      return;
    } catch {
      // free: write it
    }
    const text = newExperimentText(name.trim(), [...new Set(list(classes))], attr.trim(), [...new Set(list(values))]);
    await vscode.workspace.fs.writeFile(file, Buffer.from(text, 'utf8'));
    await vscode.commands.executeCommand('vscode.openWith', file, VIEW_TYPE);
  });

  reg('tldr.generateWords', async (arg) => {
    if (!requireTrust('Generate Words')) return;
    const uri = await pickExperiment(arg);
    if (!uri) return;
    let apiKey = await context.secrets.get(API_KEY_SECRET);
    if (!apiKey) {
      const set = 'Set API Key';
      const pick = await vscode.window.showWarningMessage(
        'TLDR: no API key for the LLM endpoint. Set one (local servers such as Ollama accept any key, e.g. "local"), or type words yourself.',
        set,
      );
      if (pick !== set) return;
      await vscode.commands.executeCommand('tldr.setApiKey');
      apiKey = await context.secrets.get(API_KEY_SECRET);
      if (!apiKey) return;
    }
    const cfg = vscode.workspace.getConfiguration('tldr.llm', uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    const scope = arg && !(arg instanceof vscode.Uri) ? arg : {};
    const result = await jobs.generateWords(uri.fsPath, {
      text: doc.getText(),
      ...(scope.list ? { list: scope.list } : {}),
      ...(scope.group ? { group: scope.group } : {}),
      llm: {
        baseUrl: cfg.get<string>('baseUrl', 'https://api.openai.com/v1'),
        model: cfg.get<string>('model', 'gpt-4o-mini'),
        temperature: cfg.get<number>('temperature', 1),
        timeoutSeconds: cfg.get<number>('timeoutSeconds', 60),
        apiKey,
      },
    });
    if (!result) return;
    // applied to the document as an edit: the user reviews, undoes or saves
    const { text, added } = addGeneratedWords(doc.getText(), result);
    if (added) await replaceDocumentText(doc, text);
    for (const e of result.errors) jobs.log.warn(`[generate] ${e}`);
    const errs = result.errors.length ? ` ${result.errors.length} list(s) failed: ${result.errors[0]}` : '';
    const msg = `TLDR: added ${added} new word${added === 1 ? '' : 's'} (unsaved; score them before a run).${errs}`;
    if (result.errors.length) void vscode.window.showWarningMessage(msg);
    else void vscode.window.showInformationMessage(msg);
  });

  reg('tldr.openReport', async (arg) => {
    const uri = await pickExperiment(arg);
    if (!uri) return;
    const file = uri.fsPath;
    const runId = arg && !(arg instanceof vscode.Uri) ? arg.runId : undefined;
    const records = jobs.cachedRecords(file) ?? (vscode.workspace.isTrusted ? await jobs.refreshRuns(file) : []);
    const candidates = runId ? records.filter((r) => r.runId === runId) : records;
    for (const r of candidates) {
      const report = vscode.Uri.file(path.join(r.runDir, 'report.md'));
      try {
        await vscode.workspace.fs.stat(report);
      } catch {
        continue;
      }
      await vscode.commands.executeCommand('markdown.showPreview', report);
      return;
    }
    void vscode.window.showInformationMessage(
      runId ? `TLDR: run ${runId} has no report.md.` : 'TLDR: no run of this experiment has a report yet. Run "TLDR: Start Retraining".',
    );
  });

  reg('tldr.setApiKey', async () => {
    const key = await vscode.window.showInputBox({
      title: 'TLDR: API key for the LLM endpoint',
      prompt: "Stored in VS Code's secret storage (never in settings or logs).",
      password: true,
      ignoreFocusOut: true,
      validateInput: (s) => (s.trim() ? undefined : 'Enter a key, or press Escape.'),
    });
    if (!key?.trim()) return;
    await context.secrets.store(API_KEY_SECRET, key.trim());
    void vscode.window.showInformationMessage('TLDR: API key stored in the secret storage.');
  });

  reg('tldr.clearApiKey', async () => {
    await context.secrets.delete(API_KEY_SECRET);
    void vscode.window.showInformationMessage('TLDR: API key removed from the secret storage.');
  });
}
