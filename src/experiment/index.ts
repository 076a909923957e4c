// The experiment document (`*.tldr.json`): its schema, reading with located errors, the view the
// editor shows, and minimal edits that keep the user's formatting. The one owner of the format:
// the engine, the CLI, src/llm, the worker and the extension host all come through here.
export * from './schema';
export {
  describeIssues,
  formatJsonPath,
  lineColumn,
  loadExperiment,
  parseExperimentText,
  parseJsonText,
  readExperimentText,
} from './parse';
export type { LoadedExperiment } from './parse';
export { documentState, setupFieldPath } from './view';
export {
  addGeneratedWords,
  applySpuriousGrouping,
  applyWordEdit,
  EditError,
  newExperimentText,
  relativeForExperiment,
  removeFailing,
  setSetupOption,
  setSetupPath,
} from './edits';
export { minimalReplace } from './jsonText';
export { createExperimentFile, ExperimentChangedError, writeExperimentText } from './file';
export { experimentJsonSchema } from './jsonSchema';
