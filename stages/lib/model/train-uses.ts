// What a stage that trains the train stage's config outside it (forecast, backtest) depends on: the
// target and lookback of the pairs and every train parameter, declared as its `uses` so that changing
// any of them reruns it. Dependency-free: stage declarations import it when the config is loaded.

/** The train parameters that decide a trained model (all but the seed spread). */
const MODEL_KEYS = ['units', 'layers', 'activation', 'dropout', 'epochs', 'batch_size', 'learning_rate', 'shuffle', 'seed'] as const;

/** `uses` of a stage that trains the train config: with `spread`, the seed spread's models too. */
export function trainingUses(options: { readonly spread: boolean }): string[] {
  return ['scale.target', 'split.lookback', ...MODEL_KEYS.map((key) => `train.${key}`), ...(options.spread ? ['train.spread_seeds'] : [])];
}
