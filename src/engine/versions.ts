// Versions recorded in every run folder, so a run can be reproduced and compared.
import pkg from '../../package.json';
import { ortVersion } from './onnxSession';

export const PACKAGE_VERSION: string = pkg.version;

export function versions(): Record<string, string> {
  return { 'tldr-debias': pkg.version, 'onnxruntime-node': ortVersion(), node: process.versions.node };
}
