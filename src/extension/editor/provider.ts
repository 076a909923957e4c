// The custom text editor for *.tldr.json. The TextDocument stays the source of truth: the
// webview shows a state derived from its text, and every edit from the webview becomes a
// minimal WorkspaceEdit on it (so undo, redo, save, diff and git behave as for text).
import * as vscode from 'vscode';
import type { ExperimentState } from '../state/experimentState';
import type { JobRunner } from '../jobs/jobRunner';
import { editorHtml, makeNonce } from './html';
import { EditorSession } from './session';

export const VIEW_TYPE = 'tldr.experimentEditor';

export class ExperimentEditorProvider implements vscode.CustomTextEditorProvider {
  /** the document of the focused TLDR editor, for commands run from the palette */
  activeDocument: vscode.TextDocument | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly state: ExperimentState,
    private readonly jobs: JobRunner,
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
    const session = new EditorSession(document, panel, this.state, this.jobs, media);
    if (panel.active) this.activeDocument = document;
    panel.onDidChangeViewState(() => {
      if (panel.active) this.activeDocument = document;
      else if (this.activeDocument === document) this.activeDocument = undefined;
    });
    panel.onDidDispose(() => {
      if (this.activeDocument === document) this.activeDocument = undefined;
      session.dispose();
    });
  }
}
