// One open experiment editor: sends the webview the document's view, the scores, the job and the
// results, and turns the webview's messages into document edits and commands.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { parseWebviewMessage, type HostToWebview, type SetupFieldId, type WebviewToHost } from '../../protocol/webview';
import {
  applySpuriousGrouping,
  applyWordEdit,
  documentState,
  EditError,
  relativeForExperiment,
  removeFailing,
  setSetupOption,
  setSetupPath,
  setupFieldPath,
} from '../../experiment';
import type { ExperimentState } from '../state/experimentState';
import type { JobRunner } from '../jobs/jobRunner';
import { describeError } from '../jobs/workerClient';
import { DOCUMENT_POST_MS } from '../timing';
import { replaceDocumentText } from './documentEdit';
import { discoveryView, imagesRoot } from './discoveryView';
import { galleryRoots, galleryView, missingRoots } from './galleryView';

export class EditorSession {
  private readonly disposables: vscode.Disposable[] = [];
  private docTimer: NodeJS.Timeout | undefined;
  private readonly file: string;

  constructor(
    private readonly document: vscode.TextDocument,
    private readonly panel: vscode.WebviewPanel,
    private readonly state: ExperimentState,
    private readonly jobs: JobRunner,
    /** the extension's media folder: always a resource root of the webview */
    private readonly media: vscode.Uri,
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
      state.onDidChange((c) => {
        if (c.file !== this.file) return;
        if (c.what === 'scores') this.postScores();
        else if (c.what === 'results') void this.postResults();
        else if (c.what === 'discovery') this.postDiscovery();
      }),
      jobs.onDidChangeJob((file) => {
        if (file === undefined || file === this.file) this.post({ type: 'job', job: jobs.jobView(this.file) });
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
    this.docTimer = setTimeout(() => this.postDocument(), DOCUMENT_POST_MS);
  }

  private postDocument(): void {
    this.docTimer = undefined;
    this.post({ type: 'document', doc: documentState(this.document.getText(), this.fileName()) });
  }

  private postScores(): void {
    const known = this.state.scoresFor(this.file);
    this.post({ type: 'scores', scores: known?.scores ?? [], ...(known ? { lambda: known.lambda } : {}) });
  }

  private postDiscovery(): void {
    const found = vscode.workspace.isTrusted ? this.state.discoveryFor(this.file) : null;
    if (!found) {
      this.post({ type: 'discovery', discovery: null });
      return;
    }
    // thumbnails load from the val images' folder only: it becomes a resource root of the webview
    const root = imagesRoot(found.discovery);
    if (root) this.allowRoots([root]);
    const web = this.panel.webview;
    this.post({ type: 'discovery', discovery: discoveryView(found.discovery, (f) => web.asWebviewUri(vscode.Uri.file(f)).toString()) });
  }

  /** Adds image folders to the webview's resource roots (the media folder and the roots it has stay). */
  private allowRoots(dirs: string[]): void {
    const roots = this.panel.webview.options.localResourceRoots ?? [this.media];
    const missing = missingRoots(
      roots.map((r) => r.fsPath),
      dirs,
    );
    if (missing.length)
      // a webview that reloads for new roots asks for everything again ('ready'); one that does not gets the view after this
      this.panel.webview.options = { enableScripts: true, localResourceRoots: [...roots, ...missing.map((d) => vscode.Uri.file(d))] };
  }

  private postContext(): void {
    this.post({ type: 'context', trusted: vscode.workspace.isTrusted });
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
    void this.postClipVariants();
    try {
      this.post({ type: 'setup', checks: await this.state.checkSetup(this.file) });
    } catch (err) {
      this.post({ type: 'setup', checks: null, error: describeError(err) });
    }
  }

  /** The variants the (unsaved) document's CLIP folder offers, for the Setup tab's dropdown. */
  private async postClipVariants(): Promise<void> {
    if (!vscode.workspace.isTrusted) return this.post({ type: 'clipVariants', variants: null });
    let dir: string | undefined;
    try {
      const json: unknown = JSON.parse(this.document.getText());
      const value = readClipDir(json);
      dir = value ? path.resolve(path.dirname(this.file), value) : undefined;
    } catch {
      dir = undefined;
    }
    if (!dir) return this.post({ type: 'clipVariants', variants: null });
    try {
      this.post({ type: 'clipVariants', variants: await this.state.clipVariants(dir) });
    } catch (err) {
      this.post({ type: 'clipVariants', variants: null, error: describeError(err) });
    }
  }

  private async postResults(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.post({ type: 'results', result: null });
      return;
    }
    try {
      const result = await this.state.latestResult(this.file);
      const gallery = result && this.state.galleryFor(this.file);
      if (!result || !gallery) return this.post({ type: 'results', result });
      // the per-group thumbnails load from the headline split's image folder(s): resource roots like the Discover tab's
      this.allowRoots(galleryRoots(gallery));
      const web = this.panel.webview;
      this.post({
        type: 'results',
        result: { ...result, gallery: galleryView(gallery, (f) => web.asWebviewUri(vscode.Uri.file(f)).toString()) },
      });
    } catch (err) {
      this.jobs.log.warn(`[results] ${describeError(err)}`);
    }
  }

  private postAll(): void {
    this.postContext();
    this.postDocument();
    this.postScores();
    this.post({ type: 'job', job: this.jobs.jobView(this.file) });
    void this.postResults();
    void this.postSetup();
    this.postDiscovery();
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
        const scores = this.state.scoresFor(this.file)?.scores ?? [];
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
        await this.edit((t) => setSetupPath(t, msg.field, msg.value));
        if (msg.field === 'clip') void this.postClipVariants();
        return;
      case 'setOption':
        return this.edit((t) => setSetupOption(t, msg.set));
      case 'openArtifact': {
        const runDir = this.state.runDirOf(this.file, msg.runId);
        const details = runDir ? await this.state.runDetails(runDir) : undefined;
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
      case 'discover':
        await vscode.commands.executeCommand('tldr.discoverBiases', { uri, words: msg.words });
        return;
      case 'applyGrouping':
        await this.edit((t) => applySpuriousGrouping(t, msg.grouping));
        this.notice(
          'info',
          `Wrote the spurious attribute "${msg.grouping.name.trim()}" (${msg.grouping.values.map((v) => v.name.trim()).join(', ')}) into the experiment (unsaved; undo with Ctrl+Z). Score the words, then run.`,
        );
        return;
    }
  }

  private async pickPath(field: SetupFieldId): Promise<void> {
    await this.pickPathInner(field);
    if (field === 'clip') void this.postClipVariants();
  }

  private async pickPathInner(field: SetupFieldId): Promise<void> {
    const state = documentState(this.document.getText(), this.fileName());
    const info = state.ok ? state.setup.find((f) => f.id === field) : undefined;
    let json: unknown = undefined;
    try {
      json = JSON.parse(this.document.getText());
    } catch {
      // setSetupPath below reports the syntax error
    }
    const key = setupFieldPath(json, field).at(-1);
    // an image folder or CelebA source is a folder, whatever the field's usual kind
    const folder = info?.kind === 'folder' || key === 'imageFolder' || key === 'celeba';
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

function readClipDir(json: unknown): string | undefined {
  const obj = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const dir = obj(obj(obj(json)?.models)?.clip)?.dir;
  return typeof dir === 'string' && dir ? dir : undefined;
}
