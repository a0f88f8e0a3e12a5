import { RunCache } from '../../runner/cache.ts';
import { ConfigError } from '../../runner/config.ts';
import { StatCache } from '../../runner/hash.ts';
import { readLock } from '../../runner/lock.ts';
import { statCacheFile } from '../../runner/status.ts';
import { acquireProjectLock, BusyError } from '../../runner/mutex.ts';
import { removeStaleStaging } from '../../runner/staging.ts';
import { defineCommand } from '../command.ts';
import { CommandFailure, countOption, parseCount } from '../inspection.ts';
import { loadProjectOrReport, reportConfigError } from './run.ts';

interface GcArgs {
  config?: string;
  all?: boolean;
  keep?: string;
  wait?: boolean;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export const gcCommand = defineCommand<GcArgs>({
  command: 'gc',
  describe: 'prune the run cache of entries pipeline.lock does not refer to',
  builder: (y) =>
    y
      .option('all', { type: 'boolean', default: false, describe: 'empty the run cache entirely' })
      .option('keep', countOption('also keep the N most recent runs of each stage (default 0)'))
      .option('wait', { type: 'boolean', default: true, describe: 'wait when a run holds the project (--no-wait: refuse)' }) as never,
  async run(args, io) {
    let keepRecent: number;
    try {
      keepRecent = parseCount('keep', args.keep) ?? 0;
    } catch (error) {
      if (!(error instanceof CommandFailure)) throw error;
      io.stderr.write(`pipeline gc: ${error.message}\n`);
      return error.exitCode;
    }
    const project = await loadProjectOrReport({ config: args.config }, io);
    if (typeof project === 'number') return project;
    let mutex;
    try {
      mutex = await acquireProjectLock(project.artifactsDir, {
        wait: args.wait ?? true,
        onWait: (pid) => io.stderr.write(`waiting for another pipeline run${pid ? ` (pid ${pid})` : ''} to finish…\n`),
      });
    } catch (error) {
      if (error instanceof BusyError) {
        io.stderr.write(`pipeline gc: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    try {
      const lock = await readLock(project.root);
      const entries = Object.values(lock?.stages ?? {});
      const keep = new Set<string>(entries.map((e) => e.fingerprint));
      const keepClosures = new Set(entries.flatMap((e) => (e.libraryClosure ? [e.libraryClosure] : [])));
      await removeStaleStaging(project.artifactsDir);
      const freed = await new RunCache(project.artifactsDir).gc(keep, new Set(), { all: args.all, keepRecent, keepClosures });
      const stat = await StatCache.open(statCacheFile(project.artifactsDir));
      stat.prune();
      await stat.save();
      const what = args.all ? 'emptied the run cache' : 'pruned runs pipeline.lock does not refer to';
      io.stdout.write(
        `gc: ${what}: removed ${freed.runs} run${freed.runs === 1 ? '' : 's'} and ${freed.objects} object${
          freed.objects === 1 ? '' : 's'
        }, freed ${megabytes(freed.bytes)}\n`,
      );
      return 0;
    } catch (error) {
      if (error instanceof ConfigError) return reportConfigError(error, io);
      throw error;
    } finally {
      await mutex.release();
    }
  },
});
