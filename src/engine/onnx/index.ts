export {
  ClassifierInfo,
  ClassifierOptions,
  exportDebiased,
  inspectClassifier,
  LinearLayer,
  PreparedClassifier,
  prepareClassifier,
} from './classifier';
