// Tabular output shared by inspect, query, metrics and params: aligned columns for people on a TTY,
// RFC 4180 CSV and JSON for pipes. Cells keep their raw value so that JSON stays typed and CSV keeps
// full precision; only the aligned view rounds numbers for reading.

export type OutputFormat = 'table' | 'csv' | 'json';

/** A LIST, STRUCT, MAP… value: its text form for the aligned view and CSV, real JSON for --json. */
export class NestedCell {
  constructor(
    readonly text: string,
    readonly json: unknown,
  ) {}
  toString(): string {
    return this.text;
  }
}

export type Cell = string | number | boolean | bigint | null | undefined | NestedCell;

export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  /** How the aligned view shows a null cell (default ∅, which a value can't be mistaken for). */
  readonly nullText?: string;
}

/** --json wins over --csv; both are for pipes, the aligned table is the default. */
export function outputFormat(args: { json?: unknown; csv?: unknown }): OutputFormat {
  if (args.json === true) return 'json';
  if (args.csv === true) return 'csv';
  return 'table';
}

/** Numbers as people read them: 8 significant digits, no exponent for ordinary magnitudes. */
export function readableNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(8)));
}

function cellText(cell: Cell, readable: boolean, nullText = '∅'): string {
  if (cell === null || cell === undefined) return readable ? nullText : '';
  if (typeof cell === 'number') return readable ? readableNumber(cell) : String(cell);
  return String(cell);
}

function isNumeric(cell: Cell): boolean {
  return typeof cell === 'number' || typeof cell === 'bigint';
}

/** Aligned columns; numeric columns are right-aligned so that magnitudes line up. */
export function formatAligned(table: Table): string {
  const texts = table.rows.map((row) => table.columns.map((_, i) => cellText(row[i], true, table.nullText)));
  const widths = table.columns.map((name, i) =>
    Math.max(displayWidth(name), ...texts.map((row) => displayWidth(row[i] ?? ''))),
  );
  const rightAligned = table.columns.map(
    (_, i) => table.rows.length > 0 && table.rows.every((row) => row[i] == null || isNumeric(row[i])),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - displayWidth(text)));
        return rightAligned[i] ? pad + text : text + pad;
      })
      .join('  ')
      .trimEnd();
  const out = [line(table.columns), line(widths.map((w) => '─'.repeat(w))), ...texts.map(line)];
  return out.join('\n') + '\n';
}

function displayWidth(text: string): number {
  return [...text].length;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV lines of the rows alone, for output written chunk by chunk after a header. */
export function formatCsvRows(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return rows.map((row) => columns.map((_, i) => csvField(cellText(row[i], false))).join(',') + '\n').join('');
}

export function formatCsv(table: Table): string {
  return table.columns.map(csvField).join(',') + '\n' + formatCsvRows(table.columns, table.rows);
}

function jsonValue(cell: Cell): unknown {
  if (cell instanceof NestedCell) return cell.json;
  if (typeof cell === 'bigint') {
    return Number.isSafeInteger(Number(cell)) ? Number(cell) : cell.toString();
  }
  if (typeof cell === 'number' && !Number.isFinite(cell)) return String(cell);
  return cell ?? null;
}

/** One object per row, keyed by column name. */
export function tableObjects(table: Table): Record<string, unknown>[] {
  return table.rows.map((row) => Object.fromEntries(table.columns.map((name, i) => [name, jsonValue(row[i])])));
}

/** One row object as it appears inside formatTable's JSON array (two-space indented). */
export function jsonArrayItem(columns: readonly string[], row: readonly Cell[]): string {
  const text = JSON.stringify(Object.fromEntries(columns.map((name, i) => [name, jsonValue(row[i])])), null, 2);
  return '  ' + text.replace(/\n/g, '\n  ');
}

export function formatTable(table: Table, format: OutputFormat): string {
  switch (format) {
    case 'table':
      return formatAligned(table);
    case 'csv':
      return formatCsv(table);
    case 'json':
      return JSON.stringify(tableObjects(table), null, 2) + '\n';
  }
}

/** JSON.stringify that survives bigint and non-finite numbers (which JSON has no literal for). */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_key, v: unknown) => {
        if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
        if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
        return v;
      },
      2,
    ) + '\n'
  );
}
