export {
  ClassifierInfo,
  ClassifierOptions,
  exportDebiased,
  inspectClassifier,
  LinearLayer,
  PreparedClassifier,
  prepareClassifier,
} from './classifier';
export { classifierRunner, ClassifierRunner } from './classifierRunner';
export { ImageInput, inputSizeProblem } from './classifierInput';
