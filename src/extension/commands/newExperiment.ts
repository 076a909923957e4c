// "TLDR: New Experiment": asks for the names, writes a skeleton *.tldr.json and opens it; the
// Setup tab then points out what to fill in.
import * as vscode from 'vscode';
import { createExperimentFile, newExperimentText } from '../../experiment';
import { VIEW_TYPE } from '../editor/provider';

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const needTwo = (s: string) => (new Set(list(s)).size >= 2 ? undefined : 'Enter at least two distinct names, separated by commas.');

export async function newExperiment(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showErrorMessage('TLDR: open a folder first; the experiment file is written into it.');
    return;
  }
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
  const text = newExperimentText(name.trim(), [...new Set(list(classes))], attr.trim(), [...new Set(list(values))]);
  if (!(await createExperimentFile(file.fsPath, text))) {
    void vscode.window.showErrorMessage(`TLDR: ${vscode.workspace.asRelativePath(file)} already exists.`);
    return;
  }
  await vscode.commands.executeCommand('vscode.openWith', file, VIEW_TYPE);
}
