// The source of gemm.wasm: a float64 matrix product C += A·B in WebAssembly SIMD (f64x2), written out
// as WebAssembly text by the functions below (build.mjs assembles it with wabt into gemm-wasm.ts).
//
// Exported: gemm(m, n, k, a, ars, aks, b, ldb, c, ldc), all in float64 elements of the shared memory:
//   C[i][j] += Σ_{p = 0..k-1} A(i, p) · B[p][j]      for i < m, j < n
//   A(i, p) = mem[a + i·ars + p·aks]   (any strides: A or Aᵀ, or ars = aks = 0 for a constant)
//   B[p][j] = mem[b + p·ldb + j],   C[i][j] = mem[c + i·ldc + j]
//
// Every C[i][j] is one running sum: loaded from memory, then + A(i,0)·B[0][j], + A(i,1)·B[1][j], … in
// ascending p, each product rounded to float64 and then added (no fused multiply-add: WebAssembly's
// f64x2.mul and f64x2.add are IEEE operations, like JavaScript's * and +), then stored. That is exactly
// what the scalar loop `c = c + a * b` over ascending p computes, so a result is bit for bit the same as
// the JavaScript loops it replaces, whatever the blocking below. SIMD runs across j (two columns a
// lane pair), never across p.
//
// Blocking: tiles of 4 rows × 4 columns (8 f64x2 accumulators held in registers over the whole p loop),
// then the leftovers with 2-column and 1-column tiles, and single rows.

/** A tile function: `rows` rows × (2·vectors columns, or 1 column when vectors is 0). */
function tile(rows, vectors) {
  const simd = vectors > 0;
  const lanes = Math.max(vectors, 1);
  const type = simd ? 'v128' : 'f64';
  const load = simd ? 'v128.load' : 'f64.load';
  const store = simd ? 'v128.store' : 'f64.store';
  const op = simd ? 'f64x2' : 'f64';
  const each = (f) => Array.from({ length: rows }, (_, r) => Array.from({ length: lanes }, (_, v) => f(r, v))).flat();
  const rowAddress = (r) => `(i32.add (local.get $c) (i32.mul (local.get $ldc) (i32.const ${r})))`;
  return [
    `  ;; ${rows} row(s) x ${simd ? `${2 * vectors} columns` : '1 column'}: C[r][0..] += sum over p of A(r, p) * B[p][0..]`,
    `  (func $tile_${rows}_${vectors} (param $a i32) (param $ars i32) (param $aks i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32) (param $k i32)`,
    ...each((r, v) => `    (local $c${r}_${v} ${type})`),
    ...Array.from({ length: rows }, (_, r) => `    (local $a${r} i32)`),
    ...Array.from({ length: lanes }, (_, v) => `    (local $b${v} ${type})`),
    `    (local $s ${type})`,
    ...each((r, v) => `    (local.set $c${r}_${v} (${load} offset=${16 * v} ${rowAddress(r)}))`),
    ...Array.from({ length: rows }, (_, r) => `    (local.set $a${r} (i32.add (local.get $a) (i32.mul (local.get $ars) (i32.const ${r}))))`),
    `    (block $done (loop $next`,
    `      (br_if $done (i32.eqz (local.get $k)))`,
    ...Array.from({ length: lanes }, (_, v) => `      (local.set $b${v} (${load} offset=${16 * v} (local.get $b)))`),
    ...Array.from({ length: rows }, (_, r) => [
      simd ? `      (local.set $s (f64x2.splat (f64.load (local.get $a${r}))))` : `      (local.set $s (f64.load (local.get $a${r})))`,
      ...Array.from({ length: lanes }, (_, v) => `      (local.set $c${r}_${v} (${op}.add (local.get $c${r}_${v}) (${op}.mul (local.get $s) (local.get $b${v}))))`),
      `      (local.set $a${r} (i32.add (local.get $a${r}) (local.get $aks)))`,
    ]).flat(),
    `      (local.set $b (i32.add (local.get $b) (local.get $ldb)))`,
    `      (local.set $k (i32.sub (local.get $k) (i32.const 1)))`,
    `      (br $next)))`,
    ...each((r, v) => `    (${store} offset=${16 * v} ${rowAddress(r)} (local.get $c${r}_${v}))`),
    `  )`,
  ].join('\n');
}

const ROWS = 4;
const VECTORS = 2;

/** The columns of one band of `rows` rows: tiles of 2·VECTORS columns, then 2, then 1. */
function columns(rows) {
  const call = (vectors) =>
    `(call $tile_${rows}_${vectors} (local.get $pa) (local.get $ars) (local.get $aks) (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))) (local.get $ldb) (i32.add (local.get $pc) (i32.shl (local.get $j) (i32.const 3))) (local.get $ldc) (local.get $k))`;
  const loop = (vectors, label) => [
    `      (block $${label}_done (loop $${label}`,
    `        (br_if $${label}_done (i32.gt_u (i32.add (local.get $j) (i32.const ${2 * vectors})) (local.get $n)))`,
    `        ${call(vectors)}`,
    `        (local.set $j (i32.add (local.get $j) (i32.const ${2 * vectors})))`,
    `        (br $${label})))`,
  ];
  return [
    `      (local.set $j (i32.const 0))`,
    ...loop(VECTORS, `wide${rows}`),
    ...(VECTORS > 1 ? loop(1, `pair${rows}`) : []),
    `      (if (i32.lt_u (local.get $j) (local.get $n)) (then ${call(0)}))`,
  ];
}

// Cache blocking: the p range in chunks of KC and the columns in panels of NC, so a KC × NC panel of B
// (64 × 64 float64 = 32 KiB) stays in the L1 cache while every band of rows uses it. C is stored and
// reloaded between chunks, in float64: the running sums and their order are unchanged.
const KC = 64;
const NC = 64;

function block() {
  const band = (rows, label) => [
    `    (block $${label}_done (loop $${label}`,
    `      (br_if $${label}_done (i32.gt_u (i32.add (local.get $i) (i32.const ${rows})) (local.get $m)))`,
    ...columns(rows),
    `      (local.set $pa (i32.add (local.get $pa) (i32.mul (local.get $ars) (i32.const ${rows}))))`,
    `      (local.set $pc (i32.add (local.get $pc) (i32.mul (local.get $ldc) (i32.const ${rows}))))`,
    `      (local.set $i (i32.add (local.get $i) (i32.const ${rows})))`,
    `      (br $${label})))`,
  ];
  return [
    `  ;; One block: C[0..m)[0..n) += A(0..m, 0..k) · B[0..k)[0..n), addresses and strides in bytes.`,
    `  (func $block (param $m i32) (param $n i32) (param $k i32) (param $a i32) (param $ars i32) (param $aks i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32)`,
    `    (local $i i32) (local $j i32) (local $pa i32) (local $pc i32)`,
    `    (local.set $pa (local.get $a))`,
    `    (local.set $pc (local.get $c))`,
    ...band(ROWS, 'rows'),
    ...band(1, 'row'),
    `  )`,
  ].join('\n');
}

function gemm() {
  const min = (x, y) => `(select ${x} ${y} (i32.lt_u ${x} ${y}))`;
  return [
    `  ;; C += A·B over float64 elements (see the header of gemm-wat.mjs); offsets and strides in elements.`,
    `  (func (export "gemm") (param $m i32) (param $n i32) (param $k i32) (param $a i32) (param $ars i32) (param $aks i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32)`,
    `    (local $p i32) (local $j i32)`,
    ...['a', 'ars', 'aks', 'b', 'ldb', 'c', 'ldc'].map((p) => `    (local.set $${p} (i32.shl (local.get $${p}) (i32.const 3)))`),
    `    (block $chunks_done (loop $chunks`,
    `      (br_if $chunks_done (i32.ge_u (local.get $p) (local.get $k)))`,
    `      (local.set $j (i32.const 0))`,
    `      (block $panels_done (loop $panels`,
    `        (br_if $panels_done (i32.ge_u (local.get $j) (local.get $n)))`,
    `        (call $block (local.get $m) ${min('(i32.sub (local.get $n) (local.get $j))', `(i32.const ${NC})`)} ${min('(i32.sub (local.get $k) (local.get $p))', `(i32.const ${KC})`)}`,
    `          (i32.add (local.get $a) (i32.mul (local.get $p) (local.get $aks))) (local.get $ars) (local.get $aks)`,
    `          (i32.add (local.get $b) (i32.add (i32.mul (local.get $p) (local.get $ldb)) (i32.shl (local.get $j) (i32.const 3)))) (local.get $ldb)`,
    `          (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 3))) (local.get $ldc))`,
    `        (local.set $j (i32.add (local.get $j) (i32.const ${NC})))`,
    `        (br $panels)))`,
    `      (local.set $p (i32.add (local.get $p) (i32.const ${KC})))`,
    `      (br $chunks)))`,
    `  )`,
  ].join('\n');
}

/** The module's text: one shared memory (imported, so every thread's instance sees the same one). */
export function gemmWat() {
  const tiles = [];
  for (const rows of [ROWS, 1]) for (const vectors of [...new Set([VECTORS, 1, 0])]) tiles.push(tile(rows, vectors));
  return [
    ';; Generated by stages/lib/model/wasm/gemm-wat.mjs; do not edit (npm run build:wasm).',
    '(module',
    '  (import "env" "memory" (memory 1 65536 shared))',
    ...tiles,
    block(),
    gemm(),
    ')',
    '',
  ].join('\n');
}
