// "TLDR: Run on Slurm…": shown when sbatch is on PATH (set at activation; with Remote-SSH the
// extension runs on the cluster's login node). Asks for the number of array tasks, submits
// through the worker, and leaves the rest to the tracker (the tree shows the array's state).
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SlurmTracker } from '../state/slurmTracker';
import { describeError } from '../jobs/workerClient';

export const SBATCH_CONTEXT_KEY = 'tldr.sbatchAvailable';

/** Whether an executable `name` is in one of PATH's folders. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      try {
        fs.accessSync(path.join(dir, name + ext), fs.constants.X_OK);
        return true;
      } catch {}
    }
  }
  return false;
}

export function setSbatchContext(): boolean {
  const has = onPath('sbatch');
  void vscode.commands.executeCommand('setContext', SBATCH_CONTEXT_KEY, has);
  return has;
}

export async function runOnSlurm(tracker: SlurmTracker, uri: vscode.Uri): Promise<void> {
  const answer = await vscode.window.showInputBox({
    title: `TLDR: Run ${path.basename(uri.fsPath)} on Slurm`,
    prompt:
      'Number of array tasks: each encodes that share of the images into the shared cache, then one job runs the rest. The cluster must see this folder at the same path.',
    value: '4',
    ignoreFocusOut: true,
    validateInput: (s) => (/^\s*\d+\s*$/.test(s) && Number(s) >= 1 ? undefined : 'A whole number of tasks, 1 or more.'),
  });
  if (answer === undefined) return;
  try {
    const sub = await tracker.submit(uri.fsPath, Number(answer.trim()));
    void vscode.window.showInformationMessage(
      `TLDR: submitted to Slurm: encode array ${sub.arrayJobId} (${sub.tasks} tasks), then run job ${sub.runJobId}. Logs: ${sub.dir}`,
    );
  } catch (err) {
    void vscode.window.showErrorMessage(`TLDR: ${describeError(err)}`);
  }
}
