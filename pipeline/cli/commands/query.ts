// `pipeline query "SQL"`: read-only DuckDB SQL over the Arrow artifacts (`aggregate.daily`, …).
import { existsSync } from 'node:fs';
import { CommandFailure, countOption, guarded, openInspection, parseCount, setOption, staleWarning, warn, writeOut } from '../inspection.ts';
import { QueryMissingArtifact, QueryRefused, QuerySqlError, referencedArtifacts, runReadOnlyQuery, sqlTableName } from '../../inspect/query.ts';
import { AlignedWriter, formatCsvRows, jsonArrayItem, outputFormat, type Cell } from '../../inspect/table.ts';
import { defineCommand } from '../command.ts';

/** The aligned table's row limit unless --max-rows says otherwise: a terminal is spared an accidental flood. */
const TABLE_MAX_ROWS = 10_000;

interface QueryArgs {
  sql: string;
  maxRows?: string;
  json?: boolean;
  csv?: boolean;
  config?: string;
  set?: string[];
}

export const queryCommand = defineCommand<QueryArgs>({
  command: 'query <sql>',
  describe: 'run read-only DuckDB SQL over the artifacts, each a table stage.artifact (aggregate.daily, evaluate.metrics, …)',
  builder: (y) =>
    y
      .positional('sql', { type: 'string', describe: 'one SELECT statement', demandOption: true })
      .option('max-rows', countOption(`print at most this many rows (0: all); default ${TABLE_MAX_ROWS} for the aligned table, all rows with --csv or --json`))
      .option('set', setOption)
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('csv', { type: 'boolean', describe: 'print CSV' })
      .example('$0 query "SELECT date, price FROM aggregate.daily WHERE price > 60000"', '') as never,
  async run(args, io) {
    return guarded(io, 'query', async () => {
      const format = outputFormat(args);
      // A pipe gets every row unless limited on purpose; a terminal is spared an accidental flood.
      const maxRows = parseCount('max-rows', args.maxRows) ?? (format === 'table' ? TABLE_MAX_ROWS : 0);
      const inspection = await openInspection(args, io);
      const { artifacts, freshness } = inspection;
      // Said before the first row (there may be many), once the query has been accepted and runs.
      let warned = false;
      const warnStale = () => {
        if (warned) return;
        warned = true;
        const named = referencedArtifacts(String(args.sql), artifacts.filter((a) => a.format === 'arrow' || a.format === 'json'));
        for (const stage of new Set(named.filter((a) => existsSync(a.path)).map((t) => t.stage))) warn(io, staleWarning(stage, inspection));
      };
      // Every format goes out chunk by chunk; the aligned table sizes its columns from the first rows.
      let started = false;
      let aligned: AlignedWriter | undefined;
      const write = (text: string) => writeOut(io.stdout, text);
      const onRows = async (rows: readonly (readonly Cell[])[], columns: readonly string[]) => {
        warnStale();
        if (format === 'table') {
          aligned ??= new AlignedWriter(columns);
          await write(aligned.push(rows));
        } else if (format === 'csv') {
          await write((started ? '' : formatCsvRows(columns, [columns])) + formatCsvRows(columns, rows));
        } else if (rows.length > 0) {
          await write((started ? ',\n' : '[\n') + rows.map((row) => jsonArrayItem(columns, row)).join(',\n'));
        } else if (!started) {
          return; // wait for a chunk with rows before opening the array
        }
        started = true;
      };
      let result;
      try {
        result = await runReadOnlyQuery(String(args.sql), artifacts, { maxRows, onRows });
      } catch (error) {
        if (error instanceof QuerySqlError && /^Catalog Error/.test(error.message)) {
          const names = artifacts.filter((a) => a.format === 'arrow').map(sqlTableName);
          throw new CommandFailure(`${error.message}\nartifact tables: ${names.join(', ')}`, 2);
        }
        if (error instanceof QueryRefused || error instanceof QuerySqlError) throw new CommandFailure(error.message, 2);
        if (error instanceof QueryMissingArtifact) throw new CommandFailure(error.message, 1);
        throw error;
      }
      warnStale();
      if (format === 'table') await write((aligned ?? new AlignedWriter(result.columns)).end());
      else if (format === 'csv' && !started) io.stdout.write(formatCsvRows(result.columns, [result.columns]));
      else if (format === 'json') io.stdout.write(started ? '\n]\n' : '[]\n');
      if (result.truncated) {
        warn(io, `output cut at ${maxRows} rows; --max-rows 0 prints them all (or add a LIMIT)`);
      }
      if (format === 'table') {
        const tables = result.tables.map(sqlTableName).join(', ');
        io.stderr.write(`${result.rowCount} row${result.rowCount === 1 ? '' : 's'}${tables ? ` from ${tables}` : ''}\n`);
      }
      return 0;
    }, args.json === true);
  },
});
