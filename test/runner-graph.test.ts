import { afterEach, expect, test } from 'vitest';
import { Rig } from './rig.ts';

let rig: Rig;
afterEach(async () => {
  await rig.cleanup();
});

async function sampleRig(source: string): Promise<Rig> {
  const r = await Rig.create();
  await r.write('data/real.txt', 'real');
  await r.write('data/seed.txt', 'seed');
  await r.setStages([
    { name: 'sample', inputs: [{ path: 'data/seed.txt' }], onlyIfUsed: true },
    { name: 'ingest', inputs: [], params: `{ source: text('sample', 'where from') }`, transform: 'text' },
  ]);
  // ingest reads sample's output only when its source is "sample", like the real ingest stage.
  await r.write(
    'stages/ingest.ts',
    (await r.read('stages/ingest.ts')).replace(
      'inputs: () => []',
      "inputs: (p) => (p.ingest.source === 'sample' ? [{ stage: 'sample', file: 'out.txt' }] : [{ path: p.ingest.source }])",
    ),
  );
  await r.editStage('ingest', '\n');
  await r.write('pipeline.yaml', `stages:\n  ingest: { source: ${source} }\n`);
  return r;
}

test('an onlyIfUsed stage is active only when an active stage reads its output', async () => {
  rig = await sampleRig('sample');
  expect((await rig.project()).graph.order).toEqual(['sample', 'ingest']);
  await rig.run();
  expect(await rig.read('artifacts/ingest/out.txt')).toBe('seed');

  await rig.cleanup();
  rig = await sampleRig('data/real.txt');
  expect((await rig.project()).graph.order).toEqual(['ingest']);
  const result = await rig.run();
  expect(result.stages.map((s) => s.stage)).toEqual(['ingest']);
  expect(await rig.read('artifacts/ingest/out.txt')).toBe('real');
  const { stderr, code } = await rig.cli(['run', 'sample']);
  expect(code).toBe(2);
  expect(stderr).toBe('pipeline run: stage sample is not part of this pipeline: no active stage reads its outputs (active: ingest)\n');
});

test('a stage reading a later stage is a cycle error that names the stages', async () => {
  rig = await Rig.create();
  await rig.setStages([
    { name: 'x', inputs: [{ stage: 'y', file: 'out.txt' }] },
    { name: 'y', inputs: [{ stage: 'x', file: 'out.txt' }] },
  ]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  await expect(rig.project()).rejects.toThrow(/: cycle: x → y → x$/);
});

test('reading an output the producer does not declare is an error naming what it does write', async () => {
  rig = await Rig.create();
  await rig.setStages([
    { name: 'x', inputs: [] },
    { name: 'y', inputs: [{ stage: 'x', file: 'nope.txt' }] },
  ]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  await expect(rig.project()).rejects.toThrow(/: reads artifacts\/x\/nope\.txt, but x writes only out\.txt$/);
});
