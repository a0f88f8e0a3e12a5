// Building blocks for stage parameter schemas. Every parameter carries its default (the notebook's
// value) and a one-line description; the error text is written so that the config loader can print
// `pipeline.yaml:12:5: train.epochs must be a positive integer, got "thirty"`.
import { z } from 'zod';

export function positiveInt(defaultValue: number, description: string) {
  const error = 'must be a positive integer';
  return z.int({ error }).positive({ error }).default(defaultValue).describe(description);
}

export function nonNegativeInt(defaultValue: number, description: string) {
  const error = 'must be a non-negative integer';
  return z.int({ error }).nonnegative({ error }).default(defaultValue).describe(description);
}

/** A count, or "auto" for a value the stage works out (e.g. from the cost of the work). */
export function countOrAuto(defaultValue: number | 'auto', description: string) {
  const error = 'must be "auto" or a non-negative integer';
  return z
    .union([z.literal('auto'), z.int().nonnegative()], { error })
    .default(defaultValue)
    .describe(description);
}

/** A random seed: the generators behind initialisers, batch order and dropout take 32 bits. */
export function seedInt(defaultValue: number, description: string) {
  const error = `must be an integer from 0 to ${MAX_SEED}`;
  return z.int({ error }).min(0, { error }).max(MAX_SEED, { error }).default(defaultValue).describe(description);
}

export const MAX_SEED = 2 ** 32 - 1;

export function positiveNumber(defaultValue: number, description: string) {
  const error = 'must be a positive number';
  return z.number({ error }).positive({ error }).default(defaultValue).describe(description);
}

/** A number in [min, max) — e.g. a dropout rate. */
export function fraction(defaultValue: number, description: string, min = 0, max = 1) {
  const error = `must be a number from ${min} up to (not including) ${max}`;
  return z.number({ error }).gte(min, { error }).lt(max, { error }).default(defaultValue).describe(description);
}

export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  defaultValue: T[number],
  description: string,
) {
  const error = `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return z.enum(values, { error }).default(defaultValue as never).describe(description);
}

export function text(defaultValue: string, description: string) {
  const error = 'must be a non-empty string';
  return z.string({ error }).min(1, { error }).default(defaultValue).describe(description);
}

export function flag(defaultValue: boolean, description: string) {
  return z.boolean({ error: 'must be true or false' }).default(defaultValue).describe(description);
}

/** A stage's parameter schema: an object of the parameters above; unknown keys are rejected. */
export function paramsOf<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape);
}
