// `pipeline query`: read-only DuckDB SQL over the Arrow artifacts, each a table named `stage.artifact`.
// Only the tables the SQL mentions are loaded (the minutes table alone is millions of rows); then the
// database is locked down (no file access, configuration frozen) before the user's statement is even
// prepared, and anything but a plain query is refused.
import {
  DuckDBDecimalValue,
  DuckDBInstance,
  StatementType,
  quotedIdentifier,
  quotedString,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { ArtifactError, type Artifact } from './artifacts.ts';
import { arrowFooter } from './arrowFile.ts';
import { createArrowView, type ArrowView } from './arrowToDuckDB.ts';
import type { Cell } from './table.ts';

export interface QueryResult {
  readonly columns: readonly string[];
  readonly types: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  /** True when the result had more rows than `maxRows` and was cut there. */
  readonly truncated: boolean;
  /** The artifact tables the query names. */
  readonly tables: readonly Artifact[];
}

/** The statement would change something or reach outside: refused before it runs. */
export class QueryRefused extends Error {}
/** DuckDB rejected the SQL (syntax, unknown table or column, …): its own message. */
export class QuerySqlError extends Error {}
/** The SQL names an artifact that has not been produced yet. */
export class QueryMissingArtifact extends Error {}

const readOnly = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

/** Statements that can only read, by their first keyword. Checked before DuckDB even binds the SQL
 *  (binding a COPY or EXPORT already touches the file system); the prepared statement's type is
 *  checked again afterwards, which catches e.g. `WITH … INSERT`. */
const readOnlyKeywords = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE', 'EXPLAIN', 'DESCRIBE', 'SHOW', 'SUMMARIZE']);

export function leadingKeyword(sql: string): string {
  const withoutComments = sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  return /^[\s(;]*([A-Za-z_]+)/.exec(withoutComments)?.[1]?.toUpperCase() ?? '';
}

function refusal(what: string): QueryRefused {
  return new QueryRefused(
    `refused: ${what} statement; pipeline query is read-only (SELECT, WITH … SELECT, FROM, DESCRIBE, SUMMARIZE, EXPLAIN)`,
  );
}

export function sqlTableName(artifact: Artifact): string {
  return `${artifact.stage}.${artifact.name}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Artifacts whose `stage.name` appears in the SQL text, quoted or not: those whose staleness is
 *  worth a warning, and whose absence deserves a better message than DuckDB's catalog error. */
export function referencedArtifacts(sql: string, artifacts: readonly Artifact[]): Artifact[] {
  return artifacts.filter((a) => {
    const part = (name: string) => `(?:${escapeRegExp(name)}|"${escapeRegExp(name.replace(/"/g, '""'))}")`;
    return new RegExp(`(?<![\\w"])${part(a.stage)}\\s*\\.\\s*${part(a.name)}(?![\\w"])`, 'i').test(sql);
  });
}

function cellOf(value: DuckDBValue): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  // Dates, timestamps, intervals, lists…: DuckDB's own text form (dates are YYYY-MM-DD).
  return String(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function lockDown(connection: DuckDBConnection): Promise<void> {
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
}

export interface QueryOptions {
  /** Stop reading the result after this many rows (0 = no limit): printing 3.9M minutes by accident
   *  would take minutes, and the result is streamed, so DuckDB stops computing there too. */
  readonly maxRows?: number;
  /** Receives the rows chunk by chunk instead of collecting them (CSV and JSON to a pipe need no
   *  alignment, so a large result never has to sit in memory at once). */
  readonly onRows?: (rows: readonly (readonly Cell[])[], columns: readonly string[]) => Promise<void>;
}

export async function runReadOnlyQuery(sql: string, artifacts: readonly Artifact[], options: QueryOptions = {}): Promise<QueryResult> {
  const maxRows = options.maxRows ?? 0;
  const keyword = leadingKeyword(sql);
  if (!readOnlyKeywords.has(keyword)) throw refusal(keyword || 'this');
  const tables = referencedArtifacts(
    sql,
    artifacts.filter((a) => a.format === 'arrow' || a.format === 'json'),
  );
  for (const table of tables) {
    if (!existsSync(table.path)) {
      throw new QueryMissingArtifact(
        `${sqlTableName(table)}: ${table.path} does not exist yet; run "pipeline run ${table.stage}" first`,
      );
    }
  }
  const views: ArrowView[] = [];
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    try {
      // Dates and timestamps print in UTC whatever TZ the process runs under.
      await connection.run(`SET TimeZone = ${quotedString('UTC')}`);
      // Every Arrow artifact on disk is a view (`SHOW ALL TABLES` lists them); a view reads its file
      // only when a query scans it.
      for (const artifact of artifacts) {
        if (artifact.format !== 'arrow' || !existsSync(artifact.path)) continue;
        const footer = await arrowFooter(artifact.path);
        views.push(await createArrowView(connection, artifact.path, footer.schema, footer.rows, artifact.stage, artifact.name));
      }
      // JSON artifacts the SQL names become one-row tables (e.g. evaluate.metrics), read now with
      // DuckDB's own read_json: after the lock-down below, DuckDB may not open files any more.
      for (const artifact of tables.filter((a) => a.format === 'json')) {
        const [schema, table] = [quotedIdentifier(artifact.stage), quotedIdentifier(artifact.name)];
        await connection.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        try {
          await connection.run(`CREATE TABLE ${schema}.${table} AS SELECT * FROM read_json(${quotedString(artifact.path)})`);
        } catch (error) {
          throw new ArtifactError(`${sqlTableName(artifact)}: ${artifact.path} could not be read as JSON: ${messageOf(error)}`);
        }
      }
      await lockDown(connection);

      let extracted;
      try {
        extracted = await connection.extractStatements(sql);
      } catch (error) {
        throw new QuerySqlError(messageOf(error).replace(/^Failed to extract statements: /, ''));
      }
      if (extracted.count === 0) throw new QueryRefused('no SQL statement given');
      if (extracted.count > 1) {
        throw new QueryRefused(`one statement at a time, please: got ${extracted.count}`);
      }
      let prepared;
      try {
        prepared = await extracted.prepare(0);
      } catch (error) {
        throw new QuerySqlError(messageOf(error));
      }
      try {
        const type = prepared.statementType;
        if (!readOnly.has(type)) {
          throw refusal(StatementType[type] ?? 'this');
        }
        const sqlError = (error: unknown) => new QuerySqlError(messageOf(error));
        const result = await prepared.stream().catch((error: unknown) => Promise.reject(sqlError(error)));
        const columns = result.columnNames();
        const kept: Cell[][] = [];
        let seen = 0;
        let truncated = false;
        for (;;) {
          const chunk = await result.fetchChunk().catch((error: unknown) => Promise.reject(sqlError(error)));
          if (!chunk || chunk.rowCount === 0) break;
          let rows = chunk.getRows().map((row) => row.map(cellOf));
          if (maxRows > 0 && seen + rows.length > maxRows) {
            rows = rows.slice(0, maxRows - seen);
            truncated = true;
          }
          seen += rows.length;
          if (options.onRows) await options.onRows(rows, columns);
          else kept.push(...rows);
          if (truncated) break;
        }
        return { columns, types: result.columnTypes().map((t) => t.toString()), rows: kept, truncated, tables };
      } finally {
        prepared.destroySync();
      }
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
    for (const view of views) view.tableFunction.destroySync();
  }
}
