// The JSON Schema of *.tldr.json, generated from the zod schema (the one source of truth); the
// manifest's jsonValidation points at the committed copy (schemas/experiment.schema.json).
import { z } from 'zod';
import { experimentSchema } from './schema';

export function experimentJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(experimentSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'TLDR experiment (*.tldr.json)',
  };
}
