import type { EngineOptions } from '../api';
export async function writeDemoExperiment(_dir: string, _opts: Pick<EngineOptions, 'onEvent' | 'signal'>): Promise<string> { throw new Error('writeDemoExperiment: in progress'); }
