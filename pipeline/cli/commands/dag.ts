import { artifactPath, projectPath } from '../../runner/graph.ts';
import { colorsFor } from '../logger.ts';
import { defineCommand } from '../command.ts';
import { loadProjectOrReport } from './run.ts';

interface DagArgs {
  config?: string;
  set?: string[];
}

export const dagCommand = defineCommand<DagArgs>({
  command: 'dag',
  describe: 'draw the stages and the artifacts flowing between them',
  builder: (y) => y.option('set', { type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'as for run' }) as never,
  async run(args, io) {
    const project = await loadProjectOrReport(args, io);
    if (typeof project === 'number') return project;
    const c = colorsFor(io.stdout, io.env);
    const { order, nodes } = project.graph;
    const width = Math.max(...order.map((n) => n.length));
    const lines: string[] = [];
    order.forEach((name, i) => {
      const node = nodes.get(name)!;
      const readers = order.filter((other) => nodes.get(other)!.upstream.includes(name));
      lines.push(`${c.bold(name.padEnd(width))}  ${c.dim(node.stage.description)}`);
      for (const input of node.inputs) {
        const from =
          input.kind === 'artifact' ? `  (from ${input.stage})` : input.kind === 'beside-code' ? `  (read by ${projectPath(project.root, input.module)})` : '';
        lines.push(`  ◀ ${input.path}${from ? c.dim(from) : ''}`);
      }
      for (const file of node.outputs) {
        const path = artifactPath(name, file);
        const by = readers.filter((r) => nodes.get(r)!.inputs.some((inp) => inp.path === path));
        lines.push(`  ▶ ${path}${by.length > 0 ? c.dim(`  (to ${by.join(', ')})`) : ''}`);
      }
      if (i < order.length - 1) lines.push('  │', '  ▼');
    });
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
});
