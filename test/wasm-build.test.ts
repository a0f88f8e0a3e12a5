// gemm-wasm.ts (the assembled kernels the trainer loads) is what `npm run build:wasm` makes from the
// current source, gemm-wat.mjs: nobody can change one without the other.
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain ES module without type declarations (the build script).
import { gemmWasmModule } from '../stages/lib/model/wasm/build.mjs';

it('the committed gemm-wasm.ts is the build of gemm-wat.mjs', async () => {
  const committed = await readFile(new URL('../stages/lib/model/wasm/gemm-wasm.ts', import.meta.url), 'utf8');
  expect(committed).toBe(await gemmWasmModule());
});
