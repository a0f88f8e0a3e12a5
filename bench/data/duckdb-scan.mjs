// The peer of `pipeline run ingest aggregate --force` (issue 14): DuckDB's own scan of the same CSV in
// a Node process, every column parsed with the layout's explicit schema and summed, default threads.
// Usage: node bench/data/duckdb-scan.mjs FILE.csv legacy|current   (prints one JSON line)
import { DuckDBInstance } from '@duckdb/node-api';

const [path, layout] = process.argv.slice(2);
const HEADERS = {
  legacy: ['Timestamp', 'Open', 'High', 'Low', 'Close', 'Volume_(BTC)', 'Volume_(Currency)', 'Weighted_Price'],
  current: ['Timestamp', 'Open', 'High', 'Low', 'Close', 'Volume'],
};
const header = HEADERS[layout];
if (!path || !header) throw new Error('usage: duckdb-scan.mjs FILE.csv legacy|current');
const q = (name) => `"${name.replaceAll('"', '""')}"`;
const s = (text) => `'${text.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const columns = header.map((name) => `${s(name)}: 'DOUBLE'`).join(', ');
const sql =
  `SELECT count(*)::DOUBLE AS rows, ${header.map((name) => `sum(${q(name)}) AS ${q(name)}`).join(', ')} ` +
  `FROM read_csv(${s(path)}, header = true, auto_detect = false, delim = ',', quote = '"', ` +
  `columns = {${columns}}, nullstr = ['NaN', 'nan', ''])`;
const reader = await connection.runAndReadAll(sql);
const row = reader.getRowObjectsJS()[0];
connection.closeSync();
instance.closeSync();
console.log(JSON.stringify(row, (_, v) => (typeof v === 'bigint' ? Number(v) : v)));
