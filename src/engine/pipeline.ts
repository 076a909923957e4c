import type { RunSummary, WordScore } from '../protocol/events';
import type { EngineOptions } from './api';
export async function runPipeline(_file: string, _opts: EngineOptions): Promise<RunSummary> { throw new Error('runPipeline: in progress'); }
export async function scorePipeline(_file: string, _opts: EngineOptions): Promise<WordScore[]> { throw new Error('scorePipeline: in progress'); }
