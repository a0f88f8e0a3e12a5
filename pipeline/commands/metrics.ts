import { defineCommand } from './command.ts';

export const metricsCommand = defineCommand({
  command: 'metrics',
  describe: 'metrics (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline metrics: not implemented yet\n');
    return 2;
  },
});
