import { writeFile } from 'node:fs/promises';
import { loadTf } from '../lib/model/tf.ts';
import { buildModel, readWeights, summaryText, withWarningsTo, writeWeights } from '../lib/model/model.ts';
import { saveModel } from '../lib/model/model-files.ts';
import { modelDiagram } from '../lib/charts/diagram.ts';
import { readPairs } from '../lib/data/pairs.ts';
import { trainFused, type Probe } from '../lib/model/trainer.ts';
import { cores as coreCount, estimateLine, otherTrainings, resolveSpreadSeeds, stepThreads, trainingFlops } from '../lib/model/cost.ts';
import { spreadJson } from '../lib/model/seed-spread.ts';
import { spreadSeeds } from '../lib/model/spread-seeds.ts';
import { spreadThreads, trainSpread } from '../lib/model/spread-pool.ts';
import type { StageContext } from '../../pipeline/contract/stage.ts';
import type { train } from '../train.ts';
import type { z } from 'zod';

export async function run(ctx: StageContext<z.output<(typeof train)['params']>>): Promise<void> {
  const p = ctx.params;
  const { backend, version } = await loadTf();
  const pairs = await readPairs(ctx.input('split', 'train.arrow'));
  if (pairs.rows === 0) throw new Error(`${ctx.input('split', 'train.arrow')}: no training pairs`);
  const spec = {
    lookback: pairs.lookback,
    units: p.units,
    layers: p.layers,
    activation: p.activation,
    dropout: p.dropout,
    seed: p.seed,
  };
  // Every spread model is built like the model; tfjs' warnings about its initialisers are said once.
  const warned = new Set<string>();
  const warn = (message: string) => {
    if (!warned.has(message)) ctx.info(`tfjs: ${message}`);
    warned.add(message);
  };
  const model = withWarningsTo(warn, () => buildModel(spec));
  try {
    // tfjs' seeded initialisers give the starting weights; the fused loop trains a copy of them.
    const theta = readWeights(model, spec);
    // How many spread seeds: the number asked for, or with auto as many (up to 20) as the budget allows.
    const modelFlops = trainingFlops(spec, pairs.rows, p.epochs);
    const { count: spreadCount, rule: spreadRule, fewer } = resolveSpreadSeeds(p.spread_seeds, modelFlops);
    if (fewer) ctx.info(`seed spread: ${fewer}`);
    const others = spreadSeeds(p.seed, spreadCount);
    const cores = coreCount();
    const spreadPlan = spreadThreads(others.length, pairs.rows, p.epochs, modelFlops);
    // Progress counts epochs of every model: the model's, then each spread seed's. Nothing is reported
    // until the first steps have been timed and the estimate (if any) said, so that line comes before
    // the bar; epochs finished by then are reported then. The bar starts at the first finished epoch
    // (not at a 0 reported late), so its ETA is measured from real epochs.
    const total = p.epochs * (1 + others.length);
    let estimated = false;
    const held: { done: number; label: string }[] = [];
    const progress = (done: number, label: string) => {
      if (estimated) ctx.progress({ done, total, label });
      else held.push({ done, label });
    };
    const onProbe = (probe: Probe) => {
      // A step on one thread takes about `threads` times as long (the spread trains each model on one).
      const oneThreadStep = probe.secondsPerStep * Math.max(1, probe.threads);
      const modelSeconds = probe.secondsPerStep * probe.steps;
      const later = otherTrainings(ctx.pipeline, spreadCount);
      const parallel = Math.max(1, Math.min(cores, spreadPlan > 1 ? spreadPlan : cores));
      const seconds = modelSeconds + ((others.length + later.models) * oneThreadStep * probe.steps) / parallel;
      const line = estimateLine({ seconds, models: 1 + others.length, weights: theta.length, spreadSeeds: spreadCount, auto: p.spread_seeds === 'auto', later });
      if (line) ctx.info(line);
      estimated = true;
      for (const h of held.splice(0)) ctx.progress({ ...h, total });
    };
    const stepPlan = stepThreads(spec, Math.min(p.batch_size, pairs.rows), cores);
    const trainStarted = performance.now();
    const result = await trainFused(spec, theta, pairs, {
      epochs: p.epochs,
      batchSize: p.batch_size,
      learningRate: p.learning_rate,
      shuffle: p.shuffle,
      seed: p.seed,
      signal: ctx.signal,
      threads: stepPlan,
      onProbe,
      onEpoch: (epoch, loss) => progress(epoch, `epoch ${epoch}/${p.epochs}, loss ${loss.toPrecision(3)}`),
    });
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    writeWeights(model, spec, theta);

    // The seed spread: the same config from other seeds, each exactly as a run with that seed would train it.
    const spreadStarted = performance.now();
    const jobs = others.map((seed) => {
      const other = withWarningsTo(warn, () => buildModel({ ...spec, seed }));
      try {
        return { seed, theta: readWeights(other, spec) };
      } finally {
        other.dispose();
      }
    });
    let epochsDone = 0;
    const { results: trainedSpread, threads } = await trainSpread(spec, pairs, jobs, {
      epochs: p.epochs,
      batchSize: p.batch_size,
      learningRate: p.learning_rate,
      shuffle: p.shuffle,
      signal: ctx.signal,
      threads: spreadPlan,
      stepThreads: stepPlan,
      onEpoch: (index, epoch) =>
        ctx.progress({ done: p.epochs + ++epochsDone, total, label: `seed spread ${index + 1}/${jobs.length}, epoch ${epoch}/${p.epochs}` }),
    });
    if (threads < spreadPlan) ctx.info(`seed spread: no worker thread could start; trained the ${jobs.length} seeds here, one after another`);
    const spread = trainedSpread.map((r) => ({ seed: r.seed, finalLoss: r.loss[r.loss.length - 1]!, theta: r.theta }));
    const spreadSeconds = (performance.now() - spreadStarted) / 1000;
    await writeFile(ctx.output('spread.json'), spreadJson(p.seed, spec, spread));

    await saveModel(model, ctx.output('model.json'), ctx.output('weights.bin'));
    await writeFile(ctx.output('history.json'), `${JSON.stringify({ epochs: result.loss.length, loss: result.loss }, null, 2)}\n`);
    await writeFile(ctx.output('summary.txt'), summaryText(model));
    const diagram = modelDiagram(model);
    await writeFile(ctx.output('model.svg'), diagram.svg);
    await writeFile(ctx.output('model.png'), diagram.png);

    const finalLoss = result.loss[result.loss.length - 1]!;
    // Only what the same inputs reproduce: timings and thread counts go to the log (ctx.info below), so
    // a rerun writes this file byte for byte again.
    const report = {
      backend,
      // Forward/backward and Adam run in one fused loop on typed arrays (stages/lib/model/lstm.ts); tfjs
      // builds, initialises, saves and serves the model.
      engine: 'fused',
      tfjs_version: version,
      epochs: p.epochs,
      steps: result.steps,
      spread_seeds: others.length,
      spread_rule: spreadRule,
      final_loss: finalLoss,
      train_rows: pairs.rows,
      lookback: pairs.lookback,
      params: model.countParams(),
      seed: p.seed,
      config: p,
    };
    await writeFile(ctx.output('report.json'), `${JSON.stringify(report, null, 2)}\n`);
    ctx.info(`trained ${model.countParams()} weights on ${pairs.rows} pairs, ${p.epochs} epochs in ${trainSeconds.toFixed(2)} s${result.threads > 1 ? ` on ${result.threads} threads` : ''}, final loss ${finalLoss.toPrecision(3)} (${backend})`);
    if (others.length > 0) {
      ctx.info(`seed spread: ${others.length} more seeds of the same config in ${spreadSeconds.toFixed(2)} s${threads > 1 ? ` on ${threads} threads` : ''}`);
    }
  } finally {
    model.dispose();
  }
}
