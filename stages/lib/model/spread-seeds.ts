// Which seeds the seed spread trains (stages/lib/model/seed-spread.ts). Dependency-free: the train stage's
// declaration checks its params with it whenever the config is loaded.

/**
 * Seeds of the spread models: seed + 1000·k, k = 1..count. The model derives its initialisers' seeds as
 * seed, seed+1, … (two per LSTM layer and one for the dense layer), so spacing by 1000 keeps every run's
 * initialisers apart from every other's for up to 499 layers; batch order and dropout draw from streams
 * keyed by the seed too.
 */
export function spreadSeeds(seed: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => seed + SPREAD_STEP * (k + 1));
}

export const SPREAD_STEP = 1000;
