// `npm run bench`: the speed and quality figures of the issues, each measured side by side with its
// peer (pandas, PyTorch, snakemake) on this machine. Not part of `npm test`.
// Run one with `npm run bench -- data` (names: data, refresh, first-run, train, noop, inspect, quality, forecast).
const all = ['data', 'refresh', 'first-run', 'train', 'noop', 'inspect', 'quality', 'forecast'] as const;

const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : all) {
  if (!(all as readonly string[]).includes(name)) {
    console.error(`bench: unknown benchmark "${name}"; choose from ${all.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## bench ${name}\n`);
  const module = (await import(`./${name}.ts`)) as { bench: () => Promise<void> };
  await module.bench();
}
