// `pipeline query "SQL"`: read-only DuckDB SQL over the Arrow artifacts (`aggregate.daily`, …).
import { CommandFailure, guarded, openInspection, staleWarning, warn } from '../inspection.ts';
import { QueryMissingArtifact, QueryRefused, QuerySqlError, runReadOnlyQuery, sqlTableName } from '../../inspect/query.ts';
import { formatCsvRows, formatTable, jsonArrayItem, outputFormat, type Cell } from '../../inspect/table.ts';
import { defineCommand } from '../command.ts';

/** The aligned table's row limit unless --max-rows says otherwise (it must hold every row at once). */
const TABLE_MAX_ROWS = 10_000;

interface QueryArgs {
  sql: string;
  maxRows?: number;
  json?: boolean;
  csv?: boolean;
  config?: string;
}

export const queryCommand = defineCommand<QueryArgs>({
  command: 'query <sql>',
  describe: 'run read-only DuckDB SQL over the artifacts, each a table stage.artifact (aggregate.daily, evaluate.metrics, …)',
  builder: (y) =>
    y
      .positional('sql', { type: 'string', describe: 'one SELECT statement', demandOption: true })
      .option('max-rows', {
        type: 'number',
        describe: `print at most this many rows (0: all); default ${TABLE_MAX_ROWS} for the aligned table, all rows with --csv or --json`,
      })
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('csv', { type: 'boolean', describe: 'print CSV' })
      .example('$0 query "SELECT date, price FROM aggregate.daily WHERE price > 60000"', '') as never,
  async run(args, io) {
    return guarded(io, 'query', async () => {
      const format = outputFormat(args);
      // A pipe gets every row unless limited on purpose; a terminal is spared an accidental flood.
      const maxRows = args.maxRows ?? (format === 'table' ? TABLE_MAX_ROWS : 0);
      if (!Number.isInteger(maxRows) || maxRows < 0) {
        throw new CommandFailure(`--max-rows must be a non-negative integer, got ${maxRows}`, 2);
      }
      const { artifacts, freshness } = await openInspection(args, io);
      // CSV and JSON go out chunk by chunk; only the aligned table needs every row before printing.
      let started = false;
      const write = (text: string) =>
        new Promise<void>((done) => {
          if (io.stdout.write(text)) done();
          else io.stdout.once('drain', () => done());
        });
      const onRows =
        format === 'table'
          ? undefined
          : async (rows: readonly (readonly Cell[])[], columns: readonly string[]) => {
              if (format === 'csv') {
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
      for (const stage of new Set(result.tables.map((t) => t.stage))) {
        warn(io, staleWarning(stage, freshness));
      }
      if (format === 'table') io.stdout.write(formatTable(result, format));
      else if (format === 'csv' && !started) io.stdout.write(formatCsvRows(result.columns, [result.columns]));
      else if (format === 'json') io.stdout.write(started ? '\n]\n' : '[]\n');
      if (result.truncated) {
        warn(io, `output cut at ${maxRows} rows; --max-rows 0 prints them all (or add a LIMIT)`);
      }
      if (format === 'table') {
        const tables = result.tables.map(sqlTableName).join(', ');
        io.stderr.write(`${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${tables ? ` from ${tables}` : ''}\n`);
      }
      return 0;
    });
  },
});
