// `tldr-debias schema`: the JSON Schema of *.tldr.json, generated from the zod schema (the one
// source of truth); the manifest's jsonValidation points at the committed copy.
import { z } from 'zod';
import { experimentSchema } from '../../experiment/schema';
import { EXIT, type CliIo } from '../io';

export function experimentJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(experimentSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'TLDR experiment (*.tldr.json)',
  };
}

export async function schemaCommand(_argv: string[], io: CliIo): Promise<number> {
  io.stdout(JSON.stringify(experimentJsonSchema(), null, 2) + '\n');
  return EXIT.ok;
}
