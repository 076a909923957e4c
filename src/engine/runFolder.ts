import type { RunRecord } from '../protocol/events';
export async function readRunRecords(_file: string): Promise<RunRecord[]> { throw new Error('readRunRecords: in progress'); }
