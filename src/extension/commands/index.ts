// The "TLDR:" commands as one table. Each entry says what it needs (a trusted workspace, an
// experiment, the experiment saved first); the shared preamble checks that once, and the
// handler gets the experiment's Uri.
import * as vscode from 'vscode';
import { addGeneratedWords } from '../../experiment';
import { replaceDocumentText } from '../editor/documentEdit';
import { VIEW_TYPE, type ExperimentEditorProvider } from '../editor/provider';
import type { ExperimentState } from '../state/experimentState';
import { pickExperiment, requireTrust, saveIfDirty, type CommandArg } from './pickExperiment';
import { newExperiment } from './newExperiment';
import { runOnSlurm } from './runOnSlurm';
import type { SlurmTracker } from '../state/slurmTracker';

export const API_KEY_SECRET = 'tldr.llm.apiKey';

interface Command {
  id: string;
  /** the action's name when it needs a trusted workspace */
  trust?: string;
  /** acts on one experiment (picked from the argument, the editor or the workspace) */
  experiment?: boolean;
  /** save the experiment's unsaved edits first (the worker reads the file) */
  save?: boolean;
  run(uri: vscode.Uri | undefined, arg: CommandArg): unknown;
}

export function registerCommands(
  context: vscode.ExtensionContext,
  state: ExperimentState,
  editors: ExperimentEditorProvider,
  slurm: SlurmTracker,
): void {
  const { jobs } = state;
  const commands: Command[] = [
    { id: 'tldr.scoreWords', trust: 'Score Words', experiment: true, save: true, run: (uri) => state.scoreWords(uri!.fsPath) },
    { id: 'tldr.startRun', trust: 'Start Retraining', experiment: true, save: true, run: (uri) => state.startRun(uri!.fsPath) },
    { id: 'tldr.runOnSlurm', trust: 'Run on Slurm', experiment: true, save: true, run: (uri) => runOnSlurm(slurm, uri!) },
    {
      id: 'tldr.cancelRun',
      run: async () => {
        if (!(await jobs.cancel())) void vscode.window.showInformationMessage('TLDR: no job is running.');
      },
    },
    { id: 'tldr.showLogs', run: () => jobs.log.show(true) },
    { id: 'tldr.openDemo', trust: 'Open Demo', run: () => openDemo(state) },
    { id: 'tldr.newExperiment', run: () => newExperiment(state) },
    { id: 'tldr.generateWords', trust: 'Generate Words', experiment: true, run: (uri, arg) => generateWords(context, state, uri!, arg) },
    {
      id: 'tldr.discoverBiases',
      trust: 'Discover Spurious Attributes',
      experiment: true,
      save: true,
      run: (uri, arg) => discoverBiases(context, state, editors, uri!, arg),
    },
    { id: 'tldr.openReport', experiment: true, run: (uri, arg) => openReport(state, uri!, arg) },
    { id: 'tldr.setApiKey', run: () => setApiKey(context) },
    {
      id: 'tldr.clearApiKey',
      run: async () => {
        await context.secrets.delete(API_KEY_SECRET);
        void vscode.window.showInformationMessage('TLDR: API key removed from the secret storage.');
      },
    },
  ];
  for (const c of commands) {
    context.subscriptions.push(
      vscode.commands.registerCommand(c.id, async (arg?: CommandArg) => {
        if (c.trust && !requireTrust(c.trust)) return;
        const uri = c.experiment ? await pickExperiment(arg, editors) : undefined;
        if (c.experiment && !uri) return;
        if (c.save && uri) await saveIfDirty(uri);
        return c.run(uri, arg);
      }),
    );
  }
}

async function openDemo(state: ExperimentState): Promise<void> {
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
    const written = await state.createDemo(dir.fsPath);
    if (!written) return;
    file = vscode.Uri.file(written);
  }
  await vscode.commands.executeCommand('vscode.openWith', file, VIEW_TYPE);
  await state.scoreWords(file.fsPath);
}

async function generateWords(context: vscode.ExtensionContext, state: ExperimentState, uri: vscode.Uri, arg: CommandArg): Promise<void> {
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
  const result = await state.generateWords(uri.fsPath, {
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
  for (const e of result.errors) state.jobs.log.warn(`[generate] ${e}`);
  const errs = result.errors.length ? ` ${result.errors.length} list(s) failed: ${result.errors[0]}` : '';
  const msg = `TLDR: added ${added} new word${added === 1 ? '' : 's'} (unsaved; score them before a run).${errs}`;
  if (result.errors.length) void vscode.window.showWarningMessage(msg);
  else void vscode.window.showInformationMessage(msg);
}

async function discoverBiases(
  context: vscode.ExtensionContext,
  state: ExperimentState,
  editors: ExperimentEditorProvider,
  uri: vscode.Uri,
  arg: CommandArg,
): Promise<void> {
  const words = arg && !(arg instanceof vscode.Uri) && Array.isArray(arg.words) ? arg.words : [];
  // the LLM adds candidates when a key is set; without one, the built-in list and the user's words are scored
  const apiKey = await context.secrets.get(API_KEY_SECRET);
  const cfg = vscode.workspace.getConfiguration('tldr.llm', uri);
  if (!apiKey) state.jobs.log.info('[discover] no API key: LLM candidates skipped (the built-in list and your words are scored)');
  const result = await state.discover(uri.fsPath, {
    words,
    ...(apiKey
      ? {
          llm: {
            baseUrl: cfg.get<string>('baseUrl', 'https://api.openai.com/v1'),
            model: cfg.get<string>('model', 'gpt-4o-mini'),
            temperature: cfg.get<number>('temperature', 1),
            timeoutSeconds: cfg.get<number>('timeoutSeconds', 60),
            apiKey,
          },
        }
      : {}),
  });
  if (!result) return;
  // show the ranking: the experiment's editor, on its Discover tab
  if (editors.activeDocument?.uri.toString() !== uri.toString()) await vscode.commands.executeCommand('vscode.openWith', uri, VIEW_TYPE);
  const top = result.discovery.classes
    .filter((c) => c.keywords.length)
    .map(
      (c) =>
        `${c.class}: ${c.keywords
          .slice(0, 3)
          .map((k) => k.keyword)
          .join(', ')}`,
    )
    .join('; ');
  void vscode.window.showInformationMessage(`TLDR: discovered ${top || 'nothing to rank'}. See the Discover tab.`);
}

async function openReport(state: ExperimentState, uri: vscode.Uri, arg: CommandArg): Promise<void> {
  const file = uri.fsPath;
  const runId = arg && !(arg instanceof vscode.Uri) ? arg.runId : undefined;
  const records = state.cachedRecords(file) ?? (vscode.workspace.isTrusted ? await state.refreshRuns(file) : []);
  for (const r of runId ? records.filter((x) => x.runId === runId) : records) {
    const { reportPath } = await state.runDetails(r.runDir);
    if (!reportPath) continue;
    await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(reportPath));
    return;
  }
  void vscode.window.showInformationMessage(
    runId ? `TLDR: run ${runId} has no report.md.` : 'TLDR: no run of this experiment has a report yet. Run "TLDR: Start Retraining".',
  );
}

async function setApiKey(context: vscode.ExtensionContext): Promise<void> {
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
}
