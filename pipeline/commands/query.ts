import { defineCommand } from './command.ts';

export const queryCommand = defineCommand({
  command: 'query',
  describe: 'query (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline query: not implemented yet\n');
    return 2;
  },
});
