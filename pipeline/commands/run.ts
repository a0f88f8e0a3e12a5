import { defineCommand } from './command.ts';

export const runCommand = defineCommand({
  command: 'run',
  describe: 'run (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline run: not implemented yet\n');
    return 2;
  },
});
