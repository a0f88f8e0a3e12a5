import { defineCommand } from './command.ts';

export const reportCommand = defineCommand({
  command: 'report',
  describe: 'report (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline report: not implemented yet\n');
    return 2;
  },
});
