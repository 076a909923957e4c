import type { SetupCheck } from '../protocol/events';
export async function runSetupChecks(_file: string, _opts: { executionProvider?: string }): Promise<SetupCheck[]> { throw new Error('runSetupChecks: in progress'); }
