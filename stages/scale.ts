import { defineStage } from '../pipeline/stage.ts';
import { paramsOf } from '../pipeline/params.ts';

export const scale = defineStage({
  name: 'scale',
  description: 'Min-max scale the daily price to [0, 1], fitted on the training days only',
  module: import.meta.url,
  params: paramsOf({}),
  uses: ['split.test_days'],
  libraries: ['apache-arrow'],
  inputs: () => [{ stage: 'aggregate', file: 'daily.arrow' }],
  outputs: () => ['scaled.arrow', 'scaler.json'],
  async run() {
    throw new Error('scale: not implemented yet');
  },
});
