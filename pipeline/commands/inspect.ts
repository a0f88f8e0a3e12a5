import { defineCommand } from './command.ts';

export const inspectCommand = defineCommand({
  command: 'inspect',
  describe: 'inspect (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline inspect: not implemented yet\n');
    return 2;
  },
});
