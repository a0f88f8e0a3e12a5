import { defineCommand } from './command.ts';

export const paramsCommand = defineCommand({
  command: 'params',
  describe: 'params (not implemented yet)',
  builder: (y) => y,
  async run(_args, io) {
    io.stderr.write('pipeline params: not implemented yet\n');
    return 2;
  },
});
