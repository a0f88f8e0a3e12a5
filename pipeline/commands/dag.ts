import { defineCommand } from './command.ts';

export const dagCommand = defineCommand({
  command: 'dag',
  describe: 'dag (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline dag: not implemented yet\n');
    return 2;
  },
});
