// The built-in stages, in pipeline order.
import type { Stage } from '../pipeline/contract/stage.ts';
import { sample } from './sample.ts';
import { ingest } from './ingest.ts';
import { aggregate } from './aggregate.ts';
import { scale } from './scale.ts';
import { split } from './split.ts';
import { train } from './train.ts';
import { evaluate } from './evaluate.ts';
import { forecast } from './forecast.ts';
import { backtest } from './backtest.ts';

export const stages: readonly Stage[] = [sample, ingest, aggregate, scale, split, train, evaluate, forecast, backtest] as Stage[];
