// A throw-away project for the real stages: the bundled daily prices (the sample's source) and the
// given pipeline.yaml, in a temp folder. Small `sample.days`, `epochs` and `spread_seeds` keep it fast.
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export async function realProject(config: string, prefix = 'pipeline-real-'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(root, 'data'));
  await copyFile(join(repo, 'data', 'btc-usd-daily.csv'), join(root, 'data', 'btc-usd-daily.csv'));
  await writeFile(join(root, 'pipeline.yaml'), config);
  return root;
}
