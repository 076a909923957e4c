// placeholder until the demo world lands
import type { CliIo } from '../io';
export async function demoCommand(_argv: string[], io: CliIo): Promise<number> {
  io.stderr('demo: in progress\n');
  return 1;
}
