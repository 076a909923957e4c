// A computed new text applied to a TextDocument as the smallest single replacement, so the
// cursor, undo and the dirty state behave as after a hand edit.
import * as vscode from 'vscode';
import { minimalReplace } from '../../experiment';

export async function replaceDocumentText(document: vscode.TextDocument, newText: string): Promise<boolean> {
  const r = minimalReplace(document.getText(), newText);
  if (!r) return true;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(document.positionAt(r.start), document.positionAt(r.end)), r.text);
  return vscode.workspace.applyEdit(edit);
}
