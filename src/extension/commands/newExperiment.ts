// "TLDR: New Experiment…": a multi-step QuickInput. From models and data: pick the CLIP export
// folder, the classifier and the data (workspace candidates, Browse…, or a typed path); the worker
// detects the layouts, the classes and the spurious attribute (proposeExperiment); CelebA asks for
// its two attributes, data without a spurious attribute asks for one; a modal shows what was found
// and what is left; the file is written atomically (never over an existing one) and opened in the
// experiment editor. The empty skeleton and the demo stay available as the first step's choices.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { createExperimentFile, newExperimentText } from '../../experiment';
import type { Proposal, ProposeParams } from '../../protocol/proposal';
import { VIEW_TYPE } from '../editor/provider';
import { describeError } from '../jobs/workerClient';
import type { ExperimentState } from '../state/experimentState';
import { requireTrust } from './pickExperiment';

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const needTwo = (s: string) => (new Set(list(s)).size >= 2 ? undefined : 'Enter at least two distinct names, separated by commas.');

const TITLE = 'TLDR: New Experiment';
const BACK = Symbol('back');
type Step<T> = T | typeof BACK | undefined;

interface PathItem extends vscode.QuickPickItem {
  path?: string;
  browse?: boolean;
}

const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.tldr/**,**/.vscode-test/**}';
const CLIP_MODEL = /^(text_model|vision_model|model)(_[a-z0-9]+)?\.onnx$/i;
const isClipDir = (dir: string) =>
  ['tokenizer.json', 'vocab.json', 'preprocessor_config.json'].some((f) => fs.existsSync(path.join(dir, f)));

/** Likely CLIP folders, classifiers and data in the workspace, to pick from. */
async function workspaceCandidates(root: vscode.Uri): Promise<{ clip: string[]; classifiers: string[]; data: string[] }> {
  const onnx = (await vscode.workspace.findFiles(new vscode.RelativePattern(root, '**/*.onnx'), EXCLUDE, 400)).map((u) => u.fsPath);
  const clip = new Set<string>();
  for (const f of onnx) {
    if (!CLIP_MODEL.test(path.basename(f))) continue;
    let dir = path.dirname(f);
    if (path.basename(dir) === 'onnx') dir = path.dirname(dir);
    if (isClipDir(dir)) clip.add(dir);
  }
  const inClip = (f: string) => [...clip].some((d) => f.startsWith(d + path.sep));
  const classifiers = onnx.filter((f) => !inClip(f) && !/\.debiased\.onnx$/.test(f)).sort();
  const tables = (await vscode.workspace.findFiles(new vscode.RelativePattern(root, '**/*.{csv,jsonl}'), EXCLUDE, 100)).map(
    (u) => u.fsPath,
  );
  const folders: string[] = [];
  const visit = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.') || e.name === 'node_modules') continue;
      const full = path.join(dir, e.name);
      if (clip.has(full) || [...clip].some((d) => d.startsWith(full + path.sep) || full.startsWith(d + path.sep))) continue;
      folders.push(full);
      if (depth < 2) visit(full, depth + 1);
    }
  };
  visit(root.fsPath, 1);
  return { clip: [...clip].sort(), classifiers, data: [...folders, ...tables.filter((t) => !inClip(t))].sort() };
}

/** One QuickPick step over paths: a candidate, Browse…, or a path typed into the box (relative to the workspace). */
async function pickPath(
  root: vscode.Uri,
  opts: {
    step: number;
    total: number;
    prompt: string;
    candidates: string[];
    folder: boolean;
    file?: boolean;
    filters?: Record<string, string[]>;
  },
): Promise<Step<string>> {
  const rel = (p: string) => path.relative(root.fsPath, p) || '.';
  const items: PathItem[] = [
    ...opts.candidates.map((p) => ({ label: rel(p), description: fs.statSync(p).isDirectory() ? 'folder' : 'file', path: p })),
    { label: '$(folder-opened) Browse…', description: 'choose in a file dialog', browse: true, alwaysShow: true },
  ];
  const qp = vscode.window.createQuickPick<PathItem>();
  qp.title = `${TITLE} (${opts.step}/${opts.total})`;
  qp.placeholder = `${opts.prompt}: pick one, Browse…, or type a path and press Enter`;
  qp.items = items;
  qp.ignoreFocusOut = true;
  qp.buttons = opts.step > 1 ? [vscode.QuickInputButtons.Back] : [];
  const picked = await new Promise<Step<PathItem | string>>((resolve) => {
    qp.onDidTriggerButton(() => resolve(BACK));
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      // a typed path wins over Browse… (always shown, so active when nothing else matches)
      if (qp.value.trim() && (!item || item.browse)) resolve(qp.value.trim());
      else if (item) resolve(item);
    });
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
  qp.dispose();
  if (picked === BACK || picked === undefined) return picked;
  if (typeof picked === 'string') {
    const p = path.resolve(root.fsPath, picked);
    if (!fs.existsSync(p)) {
      void vscode.window.showErrorMessage(`TLDR: ${p} does not exist.`);
      return pickPath(root, opts);
    }
    return p;
  }
  if (!picked.browse) return picked.path;
  const chosen = await vscode.window.showOpenDialog({
    canSelectFiles: opts.file ?? !opts.folder,
    canSelectFolders: opts.folder,
    canSelectMany: false,
    defaultUri: root,
    openLabel: 'Select',
    title: `${TITLE}: ${opts.prompt}`,
    ...(opts.filters ? { filters: opts.filters } : {}),
  });
  return chosen?.[0] ? chosen[0].fsPath : pickPath(root, opts);
}

async function inputStep(
  step: number,
  total: number,
  opts: { prompt: string; value: string; validate: (s: string) => string | undefined; back?: boolean },
): Promise<Step<string>> {
  const box = vscode.window.createInputBox();
  box.title = `${TITLE} (${step}/${total})`;
  box.prompt = opts.prompt;
  box.value = opts.value;
  box.ignoreFocusOut = true;
  box.buttons = (opts.back ?? step > 1) ? [vscode.QuickInputButtons.Back] : [];
  const result = await new Promise<Step<string>>((resolve) => {
    box.onDidChangeValue((v) => (box.validationMessage = opts.validate(v)));
    box.onDidTriggerButton(() => resolve(BACK));
    box.onDidAccept(() => {
      const problem = opts.validate(box.value);
      box.validationMessage = problem;
      if (!problem) resolve(box.value.trim());
    });
    box.onDidHide(() => resolve(undefined));
    box.show();
  });
  box.dispose();
  return result;
}

async function pickOne(title: string, placeholder: string, names: string[], preferred?: string): Promise<string | undefined> {
  const qp = vscode.window.createQuickPick();
  qp.title = title;
  qp.placeholder = placeholder;
  qp.items = names.map((label) => ({ label }));
  qp.ignoreFocusOut = true;
  const active = qp.items.find((i) => i.label === preferred);
  if (active) qp.activeItems = [active];
  const picked = await new Promise<string | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]?.label));
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
  qp.dispose();
  return picked;
}

const fileNameOk = (folder: vscode.Uri) => (s: string) => {
  const n = s.trim();
  if (!/^[\w.-]+$/.test(n)) return 'Letters, digits, ".", "-" and "_" only.';
  if (fs.existsSync(path.join(folder.fsPath, `${n.replace(/\.tldr\.json$/i, '')}.tldr.json`)))
    return `${n.replace(/\.tldr\.json$/i, '')}.tldr.json already exists: choose another name.`;
  return undefined;
};

function suggestName(folder: vscode.Uri, data: string): string {
  const base =
    path
      .basename(data)
      .replace(/\.\w+$/, '')
      .replace(/[^\w.-]+/g, '-') || 'experiment';
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!fs.existsSync(path.join(folder.fsPath, `${name}.tldr.json`))) return name;
  }
}

async function detect(state: ExperimentState, params: ProposeParams): Promise<Proposal | undefined> {
  try {
    return await vscode.window.withProgress(
      // the status bar: a notification toast would linger behind the summary dialog that follows
      { location: vscode.ProgressLocation.Window, title: 'TLDR: reading the models and the data layout…' },
      () => state.proposeExperiment(params),
    );
  } catch (err) {
    void vscode.window.showErrorMessage(`TLDR: ${describeError(err)}`);
    return undefined;
  }
}

/** From models and data: three paths, a name, the detection, the attribute choices, a summary, the file. */
async function fromModelsAndData(state: ExperimentState, folder: vscode.Uri): Promise<void> {
  const found = await workspaceCandidates(folder);
  const total = 4;
  const picks: { clip?: string; classifier?: string; data?: string; name?: string } = {};
  for (let step = 1; step <= total;) {
    let r: Step<string>;
    if (step === 1) r = await pickPath(folder, { step, total, prompt: 'The CLIP export folder', candidates: found.clip, folder: true });
    else if (step === 2)
      r = await pickPath(folder, {
        step,
        total,
        prompt: 'The classifier (.onnx)',
        candidates: found.classifiers,
        folder: false,
        filters: { 'ONNX model': ['onnx'] },
      });
    else if (step === 3)
      r = await pickPath(folder, {
        step,
        total,
        prompt: 'The data: a folder (class folders, CelebA, Waterbirds) or a manifest',
        candidates: found.data,
        folder: true,
        file: true,
      });
    else
      r = await inputStep(step, total, {
        prompt: 'Experiment name (the file becomes <name>.tldr.json in the workspace folder)',
        value: picks.name ?? suggestName(folder, picks.data!),
        validate: fileNameOk(folder),
      });
    if (r === undefined) return;
    if (r === BACK) {
      step--;
      continue;
    }
    if (step === 1) picks.clip = r;
    else if (step === 2) picks.classifier = r;
    else if (step === 3) picks.data = r;
    else picks.name = r.replace(/\.tldr\.json$/i, '');
    step++;
  }
  const file = vscode.Uri.joinPath(folder, `${picks.name}.tldr.json`);
  const params: ProposeParams = {
    clipDir: picks.clip!,
    classifierPath: picks.classifier!,
    dataPath: picks.data!,
    file: file.fsPath,
    name: picks.name!,
  };
  let proposal = await detect(state, params);
  if (!proposal) return;

  // CelebA: the class and the spurious attribute, by name
  if (proposal.data.kind === 'celeba' && proposal.data.attributes?.length) {
    const attrs = proposal.data.attributes;
    const target = await pickOne(
      `${TITLE}: CelebA`,
      'The attribute that is the class (the classifier predicts it)',
      attrs,
      attrs.includes('Blond_Hair') ? 'Blond_Hair' : attrs[0],
    );
    if (!target) return;
    const rest = attrs.filter((a) => a !== target);
    const spurious = await pickOne(
      `${TITLE}: CelebA`,
      `The spurious attribute (the classifier of ${target} leans on it)`,
      rest,
      rest.includes('Male') ? 'Male' : rest[0],
    );
    if (!spurious) return;
    proposal = await detect(state, { ...params, target, spurious });
    if (!proposal) return;
  } else if (!proposal.data.spurious) {
    // no spurious attribute in the data: ask for its name and values (the words' second half)
    const name = await inputStep(1, 2, {
      prompt: 'The data names no spurious attribute. What does the classifier lean on? (e.g. background)',
      value: 'background',
      validate: (s) => (s.trim() ? undefined : 'Required.'),
    });
    if (typeof name !== 'string') return;
    const values = await inputStep(2, 2, {
      prompt: `Values of "${name}", comma-separated`,
      value: name === 'background' ? 'land, water' : '',
      validate: needTwo,
      back: false,
    });
    if (typeof values !== 'string') return;
    proposal = await detect(state, { ...params, spurious: name, spuriousValues: [...new Set(list(values))] });
    if (!proposal) return;
  }

  const detail = [
    ...proposal.found.map((f) => `• ${f}`),
    ...(proposal.notes.length ? ['', 'To check or fill in:', ...proposal.notes.map((n) => `• ${n}`)] : []),
  ].join('\n');
  const create = 'Create';
  const answer = await vscode.window.showInformationMessage(
    `Create ${vscode.workspace.asRelativePath(file)}?`,
    { modal: true, detail },
    create,
  );
  if (answer !== create) return;
  await writeAndOpen(file, proposal.text);
  state.jobs.log.info(`[new experiment] ${file.fsPath}\n${detail}`);
}

async function writeAndOpen(file: vscode.Uri, text: string): Promise<void> {
  try {
    if (!(await createExperimentFile(file.fsPath, text))) {
      void vscode.window.showErrorMessage(`TLDR: ${vscode.workspace.asRelativePath(file)} already exists; it was not replaced.`);
      return;
    }
  } catch (err) {
    void vscode.window.showErrorMessage(`TLDR: ${describeError(err)}`);
    return;
  }
  await vscode.commands.executeCommand('vscode.openWith', file, VIEW_TYPE);
}

/** The empty skeleton: names typed in, models and data filled in later in the Setup tab. */
async function emptyExperiment(folder: vscode.Uri): Promise<void> {
  const name = await vscode.window.showInputBox({
    title: `${TITLE} (1/4)`,
    prompt: 'Experiment name (the file becomes <name>.tldr.json)',
    value: 'experiment',
    validateInput: fileNameOk(folder),
  });
  if (!name) return;
  const classes = await vscode.window.showInputBox({
    title: `${TITLE} (2/4)`,
    prompt: 'Class names, comma-separated',
    value: 'landbird, waterbird',
    validateInput: needTwo,
  });
  if (!classes) return;
  const attr = await vscode.window.showInputBox({
    title: `${TITLE} (3/4)`,
    prompt: 'The spurious attribute the classifier leans on',
    value: 'background',
    validateInput: (s) => (s.trim() ? undefined : 'Required.'),
  });
  if (!attr) return;
  const values = await vscode.window.showInputBox({
    title: `${TITLE} (4/4)`,
    prompt: `Values of "${attr.trim()}", comma-separated`,
    value: 'land, water',
    validateInput: needTwo,
  });
  if (!values) return;
  const base = name.trim().replace(/\.tldr\.json$/i, '');
  const file = vscode.Uri.joinPath(folder, `${base}.tldr.json`);
  await writeAndOpen(file, newExperimentText(base, [...new Set(list(classes))], attr.trim(), [...new Set(list(values))]));
}

export async function newExperiment(state: ExperimentState): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showErrorMessage('TLDR: open a folder first; the experiment file is written into it.');
    return;
  }
  type Choice = vscode.QuickPickItem & { id: 'detect' | 'empty' | 'demo' };
  const choice = await vscode.window.showQuickPick<Choice>(
    [
      {
        id: 'detect',
        label: '$(search) From my models and data',
        detail: 'Pick the CLIP export, the classifier and the data; the layouts, classes and spurious attribute are detected.',
      },
      {
        id: 'empty',
        label: '$(new-file) Empty experiment',
        detail: 'Type the class names and the spurious attribute; point at models and data later in the Setup tab.',
      },
      {
        id: 'demo',
        label: '$(beaker) Open the demo',
        detail: 'A generated Waterbirds-like world with a tiny CLIP and a biased classifier.',
      },
    ],
    { title: TITLE, placeHolder: 'How do you want to start?', ignoreFocusOut: true },
  );
  if (!choice) return;
  if (choice.id === 'demo') return void (await vscode.commands.executeCommand('tldr.openDemo'));
  if (choice.id === 'empty') return emptyExperiment(folder.uri);
  // reading the models and the data layout is loading workspace content: trusted workspaces only
  if (!requireTrust('New Experiment from models and data')) return;
  await fromModelsAndData(state, folder.uri);
}
