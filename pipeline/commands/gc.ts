import { defineCommand } from './command.ts';

export const gcCommand = defineCommand({
  command: 'gc',
  describe: 'gc (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline gc: not implemented yet\n');
    return 2;
  },
});
