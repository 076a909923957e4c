// The custom text editor for *.tldr.json. The TextDocument stays the source of truth: the
// webview shows a state derived from its text, and every edit from the webview becomes a
// minimal WorkspaceEdit on it (so undo, redo, save, diff and git behave as for text).
import * as vscode from 'vscode';
import * as path from 'node:path';
import { parseWebviewMessage, type HostToWebview, type SetupFieldId, type WebviewToHost } from '../protocol/webview';
import { applyWordEdit, documentState, EditError, relativeForExperiment, removeFailing, setSetupPath, setupFieldPath } from '../experiment';
import { minimalReplace } from '../experiment';
import { editorHtml, makeNonce } from './html';
import type { Jobs } from './jobs';
import { describeError } from './workerClient';

export const VIEW_TYPE = 'tldr.experimentEditor';

/** Applies `newText` to the document as the smallest single replacement. */
export async function replaceDocumentText(document: vscode.TextDocument, newText: string): Promise<boolean> {
  const r = minimalReplace(document.getText(), newText);
  if (!r) return true;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(document.positionAt(r.start), document.positionAt(r.end)), r.text);
  return vscode.workspace.applyEdit(edit);
}

export class ExperimentEditorProvider implements vscode.CustomTextEditorProvider {
  /** the document of the focused TLDR editor, for commands run from the palette */
  activeDocument: vscode.TextDocument | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly jobs: Jobs,
  ) {}

  resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    panel.webview.options = { enableScripts: true, localResourceRoots: [media] };
    panel.webview.html = editorHtml({
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(media, 'webview.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(media, 'webview.css')).toString(),
    });
    const session = new EditorSession(document, panel, this.jobs);
    if (panel.active) this.activeDocument = document;
    panel.onDidChangeViewState(() => {
      if (panel.active) this.activeDocument = document;
      else if (this.activeDocument === document && !panel.active) this.activeDocument = undefined;
    });
    panel.onDidDispose(() => {
      if (this.activeDocument === document) this.activeDocument = undefined;
      session.dispose();
    });
  }
}

class EditorSession {
  private readonly disposables: vscode.Disposable[] = [];
  private docTimer: NodeJS.Timeout | undefined;
  private readonly file: string;

  constructor(
    private readonly document: vscode.TextDocument,
    private readonly panel: vscode.WebviewPanel,
    private readonly jobs: Jobs,
  ) {
    this.file = document.uri.fsPath;
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === document.uri.toString() && e.contentChanges.length) this.scheduleDocument();
      }),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (d.uri.toString() === document.uri.toString()) void this.postSetup();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.postContext();
        void this.postSetup();
      }),
      jobs.onDidChange((c) => {
        if (c.file !== undefined && c.file !== this.file) return;
        if (c.what === 'scores') this.post({ type: 'scores', scores: jobs.scoresFor(this.file) });
        else if (c.what === 'job') this.post({ type: 'job', job: jobs.jobView(this.file) });
        else if (c.what === 'results') void this.postResults();
      }),
    );
  }

  dispose(): void {
    if (this.docTimer) clearTimeout(this.docTimer);
    for (const d of this.disposables) d.dispose();
  }

  private post(msg: HostToWebview): void {
    // a hidden webview drops messages; it asks for everything again ('ready') when shown
    void this.panel.webview.postMessage(msg);
  }

  private fileName(): string {
    return path.basename(this.file);
  }

  private scheduleDocument(): void {
    if (this.docTimer) clearTimeout(this.docTimer);
    this.docTimer = setTimeout(() => this.postDocument(), 40);
  }

  private postDocument(): void {
    this.docTimer = undefined;
    this.post({ type: 'document', doc: documentState(this.document.getText(), this.fileName()) });
  }

  private postContext(): void {
    this.post({ type: 'context', trusted: vscode.workspace.isTrusted, llmAvailable: true });
  }

  private async postSetup(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.post({
        type: 'setup',
        checks: null,
        error: 'Restricted Mode: models are not loaded or checked until you trust this workspace.',
      });
      return;
    }
    try {
      this.post({ type: 'setup', checks: await this.jobs.checkSetup(this.file) });
    } catch (err) {
      this.post({ type: 'setup', checks: null, error: describeError(err) });
    }
  }

  private async postResults(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.post({ type: 'results', result: null });
      return;
    }
    try {
      this.post({ type: 'results', result: await this.jobs.latestResult(this.file) });
    } catch (err) {
      this.jobs.log.warn(`[results] ${describeError(err)}`);
    }
  }

  private postAll(): void {
    this.postContext();
    this.postDocument();
    this.post({ type: 'scores', scores: this.jobs.scoresFor(this.file) });
    this.post({ type: 'job', job: this.jobs.jobView(this.file) });
    void this.postResults();
    void this.postSetup();
  }

  private notice(level: 'info' | 'warn' | 'error', message: string): void {
    this.post({ type: 'notice', level, message });
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.jobs.log.warn(`[editor] dropped an invalid message from the webview: ${parsed.error}`);
      return;
    }
    try {
      await this.handle(parsed.message);
    } catch (err) {
      const message = describeError(err);
      if (!(err instanceof EditError)) this.jobs.log.error(`[editor] ${message}`);
      this.notice('error', message);
      this.postDocument();
    }
  }

  private async edit(compute: (text: string) => string): Promise<void> {
    const next = compute(this.document.getText());
    if (!(await replaceDocumentText(this.document, next))) throw new EditError('VS Code refused the edit (is the file read-only?).');
  }

  private async handle(msg: WebviewToHost): Promise<void> {
    const uri = this.document.uri;
    switch (msg.type) {
      case 'ready':
        this.postAll();
        return;
      case 'edit':
        return this.edit((t) => applyWordEdit(t, msg.edit));
      case 'removeFailing': {
        const scores = this.jobs.scoresFor(this.file);
        if (scores.length === 0) {
          this.notice('warn', 'No scores yet: run "Score words" first.');
          return;
        }
        let removed = 0;
        await this.edit((t) => {
          const r = removeFailing(t, scores, { ...(msg.list ? { list: msg.list } : {}), ...(msg.group ? { group: msg.group } : {}) });
          removed = r.removed;
          return r.text;
        });
        this.notice(
          'info',
          removed
            ? `Removed ${removed} failing word${removed === 1 ? '' : 's'} (locked words are kept). Undo with Ctrl+Z.`
            : 'No failing unlocked words to remove.',
        );
        return;
      }
      case 'scoreWords':
        await vscode.commands.executeCommand('tldr.scoreWords', uri);
        return;
      case 'generateWords':
        await vscode.commands.executeCommand('tldr.generateWords', {
          uri,
          ...(msg.list ? { list: msg.list } : {}),
          ...(msg.group ? { group: msg.group } : {}),
        });
        return;
      case 'startRun':
        await vscode.commands.executeCommand('tldr.startRun', uri);
        return;
      case 'checkSetup':
        await this.postSetup();
        return;
      case 'pickPath':
        return this.pickPath(msg.field);
      case 'setPath':
        return this.edit((t) => setSetupPath(t, msg.field, msg.value));
      case 'openArtifact': {
        const runDir = this.jobs.runDirOf(this.file, msg.runId);
        const details = runDir ? await this.jobs.runDetails(runDir) : undefined;
        const target = msg.what === 'report' ? details?.reportPath : details?.modelPath;
        if (!target) {
          this.notice('warn', `This run has no ${msg.what === 'report' ? 'report.md' : 'exported model'}.`);
          return;
        }
        if (msg.what === 'report') await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(target));
        else await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(target));
        return;
      }
      case 'log':
        this.jobs.log[msg.level](`[webview] ${msg.message}`);
        return;
    }
  }

  private async pickPath(field: SetupFieldId): Promise<void> {
    const state = documentState(this.document.getText(), this.fileName());
    const info = state.ok ? state.setup.find((f) => f.id === field) : undefined;
    const folder = info?.kind === 'folder';
    let json: unknown = undefined;
    try {
      json = JSON.parse(this.document.getText());
    } catch {
      // setSetupPath below reports the syntax error
    }
    const key = setupFieldPath(json, field).at(-1);
    const filters: Record<string, string[]> | undefined = folder
      ? undefined
      : field === 'classifier'
        ? { 'ONNX model': ['onnx'] }
        : key === 'embeddings'
          ? { Embeddings: ['safetensors', 'npy'] }
          : { 'Image list': ['csv', 'jsonl'], 'All files': ['*'] };
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: !folder,
      canSelectFolders: folder,
      canSelectMany: false,
      defaultUri: vscode.Uri.file(path.dirname(this.file)),
      openLabel: 'Select',
      title: info ? `TLDR: ${info.label}` : 'TLDR',
      ...(filters ? { filters } : {}),
    });
    if (!picked?.[0]) return;
    const rel = relativeForExperiment(this.file, picked[0].fsPath);
    await this.edit((t) => setSetupPath(t, field, rel));
  }
}
