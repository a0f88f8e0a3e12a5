import { defineStage } from '../pipeline/stage.ts';
import { nonNegativeInt, paramsOf } from '../pipeline/params.ts';

export const sample = defineStage({
  name: 'sample',
  description: 'Synthesize Kaggle-schema minute bars around the bundled real daily prices',
  module: import.meta.url,
  params: paramsOf({
    days: nonNegativeInt(0, 'keep the last N days of data/btc-usd-daily.csv; 0 = every day'),
    seed: nonNegativeInt(7, 'random seed of the synthetic minutes'),
  }),
  onlyIfUsed: true,
  inputs: () => [{ path: 'data/btc-usd-daily.csv' }],
  outputs: () => ['minutes.csv'],
  async run() {
    throw new Error('sample: not implemented yet');
  },
});
