// The last word scores of an experiment, kept at .tldr/scores/<file name>.json so the editor
// shows them again after a reload. Written by `score` and by every successful run.
import * as path from 'node:path';

export const scoresFile = (experimentFile: string): string =>
  path.join(path.dirname(path.resolve(experimentFile)), '.tldr', 'scores', `${path.basename(experimentFile)}.json`);
