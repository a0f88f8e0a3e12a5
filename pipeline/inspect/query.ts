// `pipeline query`: read-only DuckDB SQL over the Arrow artifacts, each a table named `stage.artifact`.
// Only the tables the SQL mentions are loaded (the minutes table alone is millions of rows); then the
// database is locked down (no file access, configuration frozen) before the user's statement is even
// prepared, and anything but a plain query is refused.
import {
  DuckDBArrayValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBUnionValue,
  JsonDuckDBValueConverter,
  StatementType,
  quotedIdentifier,
  quotedString,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
} from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { ArtifactError, type Artifact } from './artifacts.ts';
import { arrowFooter } from './arrowFile.ts';
import { createArrowView, type ArrowView } from './arrowToDuckDB.ts';
import { NestedCell, type Cell } from './table.ts';

// node-api prints a TIMESTAMPTZ (also inside lists and structs) at the offset the process had when
// it loaded, not at the session's TimeZone: pin it to UTC like the session, whatever TZ says.
DuckDBTimestampTZValue.timezoneOffsetInMinutes = 0;

export interface QueryResult {
  readonly columns: readonly string[];
  readonly types: readonly string[];
  /** The rows, unless they went to `onRows` instead. */
  readonly rows: readonly (readonly Cell[])[];
  /** How many rows the result had (up to maxRows). */
  readonly rowCount: number;
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

/** Statement types that only read; anything else is refused after preparing, before it runs. */
const readOnly = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

/** First keywords of statements that write or change the session's state: refused before DuckDB
 *  even binds the SQL (binding a COPY or EXPORT already touches the file system). Anything else goes
 *  to DuckDB, so a typo gets DuckDB's own parser error, and the prepared statement's type is checked
 *  again afterwards, which catches e.g. `WITH … INSERT`. */
const writeKeywords = new Set([
  'ABORT', 'ALTER', 'ANALYZE', 'ATTACH', 'BEGIN', 'CALL', 'CHECKPOINT', 'COMMENT', 'COMMIT', 'COPY', 'CREATE',
  'DEALLOCATE', 'DELETE', 'DETACH', 'DROP', 'END', 'EXECUTE', 'EXPORT', 'FORCE', 'IMPORT', 'INSERT', 'INSTALL',
  'LOAD', 'MERGE', 'PRAGMA', 'PREPARE', 'RESET', 'ROLLBACK', 'SET', 'START', 'TRANSACTION', 'TRUNCATE', 'UPDATE',
  'UPSERT', 'USE', 'VACUUM',
]);

/** Whitespace and comments before the first keyword. */
const LEADING_NOISE = /^(?:\s|;|\(|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

export function leadingKeyword(sql: string): string {
  return /^([A-Za-z_]+)/.exec(sql.replace(LEADING_NOISE, ''))?.[1]?.toUpperCase() ?? '';
}

/** `EXPLAIN [ANALYZE] [(options)]` at the start of the SQL: the statement it explains, or undefined. */
export function explainedStatement(sql: string): { analyze: boolean; sql: string } | undefined {
  const rest = sql.replace(LEADING_NOISE, '');
  const match = /^EXPLAIN\s+(ANALY[SZ]E\b\s*)?(?:\([^)]*\)\s*)?/i.exec(rest);
  return match ? { analyze: match[1] !== undefined, sql: rest.slice(match[0].length) } : undefined;
}

function refusal(what: string, explain?: { analyze: boolean }): QueryRefused {
  const under = explain ? ` under ${explain.analyze ? 'EXPLAIN ANALYZE (which runs it)' : 'EXPLAIN'}` : '';
  return new QueryRefused(
    `refused: ${what} statement${under}; pipeline query is read-only (SELECT, WITH … SELECT, FROM, PIVOT, DESCRIBE, SUMMARIZE, EXPLAIN)`,
  );
}

/** Refuses SQL whose first keyword (or, under EXPLAIN, the explained statement's) writes. */
function checkKeywords(sql: string): void {
  const keyword = leadingKeyword(sql);
  if (writeKeywords.has(keyword)) throw refusal(keyword);
  const explained = explainedStatement(sql);
  if (explained) {
    const inner = leadingKeyword(explained.sql);
    if (writeKeywords.has(inner)) throw refusal(inner, explained);
  }
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

/** node-api's JSON converter, but integers and decimals inside nested values stay numbers as they
 *  do at the top level (node-api writes BIGINT and DECIMAL as strings). */
const jsonOf: DuckDBValueConverter<Json> = (value, type, self) => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  return JsonDuckDBValueConverter(value, type, self);
};

function cellOf(value: DuckDBValue, type: DuckDBType): Cell {
  if (value === null || value === undefined) return null;
  if (
    value instanceof DuckDBListValue ||
    value instanceof DuckDBStructValue ||
    value instanceof DuckDBMapValue ||
    value instanceof DuckDBArrayValue ||
    value instanceof DuckDBUnionValue
  ) {
    return new NestedCell(String(value), jsonOf(value, type, jsonOf));
  }
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

/**
 * The user's one statement, prepared and checked to only read. DuckDB expands a PIVOT without an IN
 * list into CREATE TYPE statements (the pivot's column values, in the throw-away in-memory database)
 * followed by the SELECT: those CREATEs are run, anything else but one statement is refused.
 */
async function preparedQuery(connection: DuckDBConnection, sql: string, explain?: { analyze: boolean }): Promise<DuckDBPreparedStatement> {
  let extracted;
  try {
    extracted = await connection.extractStatements(sql);
  } catch (error) {
    throw new QuerySqlError(messageOf(error).replace(/^Failed to extract statements: /, ''));
  }
  if (extracted.count === 0) throw new QueryRefused('no SQL statement given');
  const statements: DuckDBPreparedStatement[] = [];
  try {
    for (let i = 0; i < extracted.count; i++) {
      try {
        statements.push(await extracted.prepare(i));
      } catch (error) {
        throw new QuerySqlError(messageOf(error));
      }
      const statement = statements[i]!;
      if (i === extracted.count - 1) break;
      // Not the last: only a PIVOT's CREATE TYPE may come first, and the next statement needs it.
      if (statement.statementType !== StatementType.CREATE || !/\bPIVOT\b/i.test(sql)) {
        throw new QueryRefused(`one statement at a time, please: got ${extracted.count}`);
      }
      await statement.run().catch((error: unknown) => Promise.reject(new QuerySqlError(messageOf(error))));
    }
    const last = statements[statements.length - 1]!;
    if (statements.length > 1 && last.statementType !== StatementType.SELECT) {
      throw new QueryRefused(`one statement at a time, please: got ${extracted.count}`);
    }
    if (!readOnly.has(last.statementType)) throw refusal(StatementType[last.statementType] ?? 'this', explain);
    const explained = last.statementType === StatementType.EXPLAIN ? explainedStatement(sql) : undefined;
    if (explained) {
      // EXPLAIN ANALYZE runs what it explains: that statement must only read too.
      (await preparedQuery(connection, explained.sql, explained)).destroySync();
    }
    statements.pop();
    return last;
  } finally {
    for (const statement of statements) statement.destroySync();
  }
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
  checkKeywords(sql);
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
      // only when a query scans it. A damaged file the SQL names is an error; one it does not name is
      // left out, so that it cannot break queries that never touch it.
      for (const artifact of artifacts) {
        if (artifact.format !== 'arrow' || !existsSync(artifact.path)) continue;
        let footer;
        try {
          footer = await arrowFooter(artifact.path);
          // DuckDB cannot bind a table without columns.
          if (footer.schema.fields.length === 0) throw new ArtifactError(`${artifact.path}: the Arrow file has no columns`);
        } catch (error) {
          if (tables.includes(artifact) || !(error instanceof ArtifactError)) throw error;
          continue;
        }
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
      try {
        return await streamResult(connection, sql, tables, maxRows, options.onRows);
      } catch (error) {
        // A file that turned out damaged when a scan read it reaches us as DuckDB's text only: report
        // the file's own error instead.
        throw views.map((v) => v.failure()).find((f) => f !== undefined) ?? error;
      }
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
    for (const view of views) view.tableFunction.destroySync();
  }
}

async function streamResult(
  connection: DuckDBConnection,
  sql: string,
  tables: readonly Artifact[],
  maxRows: number,
  onRows: QueryOptions['onRows'],
): Promise<QueryResult> {
  const prepared = await preparedQuery(connection, sql);
  try {
    const sqlError = (error: unknown) => new QuerySqlError(messageOf(error));
    const result = await prepared.stream().catch((error: unknown) => Promise.reject(sqlError(error)));
    const columns = result.columnNames();
    const types = result.columnTypes();
    const kept: Cell[][] = [];
    let seen = 0;
    let truncated = false;
    for (;;) {
      const chunk = await result.fetchChunk().catch((error: unknown) => Promise.reject(sqlError(error)));
      if (!chunk || chunk.rowCount === 0) break;
      let rows = chunk.getRows().map((row) => row.map((value, i) => cellOf(value, types[i]!)));
      if (maxRows > 0 && seen + rows.length > maxRows) {
        rows = rows.slice(0, maxRows - seen);
        truncated = true;
      }
      seen += rows.length;
      if (onRows) await onRows(rows, columns);
      else for (const row of rows) kept.push(row);
      if (truncated) break;
    }
    return { columns, types: types.map((t) => t.toString()), rows: kept, rowCount: seen, truncated, tables };
  } finally {
    prepared.destroySync();
  }
}
