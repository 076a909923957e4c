// `tldr-debias schema`: the experiment file's JSON Schema.
import { experimentJsonSchema } from '../../experiment';
import { EXIT, type CliIo } from '../io';

export async function schemaCommand(_argv: string[], io: CliIo): Promise<number> {
  io.stdout(JSON.stringify(experimentJsonSchema(), null, 2) + '\n');
  return EXIT.ok;
}
