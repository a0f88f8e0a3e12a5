import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { contextFor, writeFixture, type Fixture, type Recorded } from './model-helpers.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('train stage outputs', () => {
  let fixture: Fixture;
  let run: Recorded<unknown>;
  let tensorsBefore = 0;
  let tensorsAfter = 0;
  const dir = () => join(fixture.root, 'artifacts', 'train');

  beforeAll(async () => {
    const { tf } = await loadTf();
    fixture = await writeFixture({ count: 60, testDays: 10 });
    run = (await contextFor(train, fixture.root, { epochs: 3 })) as Recorded<unknown>;
    tensorsBefore = tf.memory().numTensors;
    await train.run(run.ctx as never);
    tensorsAfter = tf.memory().numTensors;
  });
  afterAll(() => fixture.cleanup());

  it('training leaves no tensors behind', () => {
    expect(tensorsAfter).toBe(tensorsBefore);
  });

  it('model.json is TF.js layers format with its weights in weights.bin', async () => {
    const modelJson = JSON.parse(await readFile(join(dir(), 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.modelTopology.class_name ?? modelJson.modelTopology.config?.name).toBeDefined();
    expect(modelJson.weightsManifest).toHaveLength(1);
    expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
    // The default model: LSTM(4) on [1, 1] has 4*(4*(1+4)+4) = 96 weights, Dense(1) 4+1 = 5; float32.
    const weights = await readFile(join(dir(), 'weights.bin'));
    expect(weights.byteLength).toBe((96 + 5) * 4);
    const shapes = modelJson.weightsManifest[0].weights.map((w: { shape: number[] }) => w.shape);
    expect(shapes).toEqual([[1, 16], [4, 16], [16], [4, 1], [1]]);
  });

  it('history.json holds one loss per epoch', async () => {
    const history = JSON.parse(await readFile(join(dir(), 'history.json'), 'utf8'));
    expect(history.epochs).toBe(3);
    expect(history.loss).toHaveLength(3);
    for (const loss of history.loss) expect(loss).toBeGreaterThan(0);
  });

  it('report.json records backend, engine, epochs, final loss and sizes, and no timings (they are in the log)', async () => {
    const report = JSON.parse(await readFile(join(dir(), 'report.json'), 'utf8'));
    const history = JSON.parse(await readFile(join(dir(), 'history.json'), 'utf8'));
    expect(report.backend).toBe('cpu');
    // The weights are trained by the fused loop (lstm.ts), whatever tfjs backend serves the model.
    expect(report.engine).toBe('fused');
    expect(report.epochs).toBe(3);
    expect(report.final_loss).toBe(history.loss[2]);
    expect(report.train_rows).toBe(fixture.trainTargets.length);
    // 49 pairs in batches of 5: 10 steps per epoch.
    expect(report.steps).toBe(3 * Math.ceil(fixture.trainTargets.length / 5));
    expect(report.params).toBe(101);
    expect(report.seed).toBe(42);
    expect(report.tfjs_version).toMatch(/^\d+\.\d+\.\d+/);
    // Timings and thread counts differ from run to run: they would make the file's hash change with
    // every forced rerun. The log line says them instead.
    for (const key of ['seconds', 'train_seconds', 'spread_seconds', 'spread_threads']) expect(report).not.toHaveProperty(key);
    expect(run.info.some((line) => /^trained 101 weights on \d+ pairs, 3 epochs in \d+\.\d\d s/.test(line))).toBe(true);
  });

  it('progress reports every epoch with its loss', async () => {
    const history = JSON.parse(await readFile(join(dir(), 'history.json'), 'utf8'));
    // Then the epochs of each spread seed (train.spread_seeds, 20 by default): 3 x 21 steps in all.
    const epochs = run.progress.filter((p) => p.done > 0 && p.done <= 3);
    expect(epochs.map((p) => p.done)).toEqual([1, 2, 3]);
    expect(run.progress.every((p) => p.total === 63)).toBe(true);
    expect(epochs[2]!.label).toBe(`epoch 3/3, loss ${history.loss[2].toPrecision(3)}`);
  });

  it('the layer diagram is a PNG and an SVG naming every layer with its shapes', async () => {
    const png = await readFile(join(dir(), 'model.png'));
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    const svg = await readFile(join(dir(), 'model.svg'), 'utf8');
    expect(svg.match(/<g class="layer">/g)).toHaveLength(3);
    for (const text of ['lstm_input', 'InputLayer', 'LSTM', 'Dense', '(None, 1, 1)', '(None, 4)', '(None, 1)']) {
      expect(svg).toContain(`>${text}<`);
    }
  });
});
