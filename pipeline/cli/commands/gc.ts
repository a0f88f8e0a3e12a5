import { RunCache } from '../../runner/cache.ts';
import { ConfigError } from '../../runner/config.ts';
import { isFolder } from '../../runner/folder.ts';
import { StatCache } from '../../runner/hash.ts';
import { LOCK_FILE, readLock } from '../../runner/lock.ts';
import { humanSize } from '../../inspect/artifacts.ts';
import { lockAtRevision } from '../../inspect/compare.ts';
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
  dry?: boolean;
  wait?: boolean;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export const gcCommand = defineCommand<GcArgs>({
  command: 'gc',
  describe: 'prune the run cache of entries neither pipeline.lock nor the lock committed at HEAD refers to',
  builder: (y) =>
    y
      .option('all', { type: 'boolean', default: false, describe: 'empty the run cache entirely' })
      .option('dry', { type: 'boolean', default: false, describe: 'say what would be removed; remove nothing' })
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
      // Kept: what the working lock refers to, and what the lock committed at HEAD does, so that
      // `metrics --diff` (which reads HEAD's metrics from the run cache) keeps working after a gc.
      const locks = [await readLock(project.root)];
      const committed = await lockAtRevision(project.root, 'HEAD').catch((error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        io.stderr.write(`warning: HEAD's ${LOCK_FILE} cannot be read (${error.message}); only the working ${LOCK_FILE} is kept\n`);
        return 'unreadable';
      });
      if (typeof committed !== 'string') locks.push(committed);
      const entries = locks.flatMap((lock) => Object.values(lock?.stages ?? {}));
      const keep = new Set<string>(entries.map((e) => e.fingerprint));
      const cache = new RunCache(project.artifactsDir);
      const keepObjects = new Set<string>();
      for (const entry of entries) for (const hash of await cache.objectsOfOutputs(entry.outputs)) keepObjects.add(hash);
      // The manifest of each folder a stage last read: its next run names the changed files with it.
      for (const entry of entries) for (const [path, hash] of Object.entries(entry.inputs)) if (isFolder(path)) keepObjects.add(hash);
      const keepClosures = new Set(entries.flatMap((e) => (e.libraryClosure ? [e.libraryClosure] : [])));
      if (!args.dry) await removeStaleStaging(project.artifactsDir);
      const freed = await cache.gc(keep, keepObjects, { all: args.all, keepRecent, keepClosures, dry: args.dry });
      if (!args.dry) {
        const stat = await StatCache.open(statCacheFile(project.artifactsDir));
        stat.prune();
        await stat.save();
      }
      const refer = typeof committed === 'string' ? `${LOCK_FILE} does not refer to` : `neither ${LOCK_FILE} nor HEAD's ${LOCK_FILE} refers to`;
      const counts = `${count(freed.runs, 'run')} and ${count(freed.objects, 'object')}`;
      io.stdout.write(
        args.dry
          ? `gc --dry: would remove ${counts} (${args.all ? 'the whole run cache' : `runs ${refer}`}), ${humanSize(freed.bytes)}; nothing removed\n`
          : `gc: ${args.all ? 'emptied the run cache' : `pruned runs ${refer}`}: removed ${counts}, freed ${humanSize(freed.bytes)}\n`,
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
