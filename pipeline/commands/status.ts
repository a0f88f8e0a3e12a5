import { defineCommand } from './command.ts';

export const statusCommand = defineCommand({
  command: 'status',
  describe: 'status (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline status: not implemented yet\n');
    return 2;
  },
});
