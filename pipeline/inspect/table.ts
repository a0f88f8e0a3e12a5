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

/** A number shown rounded in the aligned view (RMSE to cents, a ratio to 3 digits); CSV and JSON keep
 *  the full value. */
export class FormattedNumber {
  constructor(
    readonly value: number,
    readonly text: string,
  ) {}
  toString(): string {
    return this.text;
  }
}

export type Cell = string | number | boolean | bigint | null | undefined | NestedCell | FormattedNumber;

function cellText(cell: Cell, readable: boolean, nullText = '∅'): string {
  if (cell === null || cell === undefined) return readable ? nullText : '';
  if (cell instanceof FormattedNumber) return readable ? cell.text : String(cell.value);
  if (typeof cell === 'number') return readable ? readableNumber(cell) : String(cell);
  return String(cell);
}

function isNumeric(cell: Cell): boolean {
  return typeof cell === 'number' || typeof cell === 'bigint' || cell instanceof FormattedNumber;
}

/** Rows the streaming table sizes its columns from (the query command's default row limit). */
export const ALIGN_SAMPLE_ROWS = 10_000;

/**
 * Aligned columns, streamed: the first `sampleRows` rows are held to size the columns (numeric columns
 * right-aligned so that magnitudes line up), then every row is turned into text as it comes, so any
 * number of rows prints in bounded memory. A later cell wider than its column widens it from that row on.
 */
export class AlignedWriter {
  private sample: string[][] | undefined = [];
  /** Per column: every non-null cell seen in the sample is a number. */
  private readonly numeric: boolean[];
  private readonly widths: number[];
  private rightAligned: readonly boolean[] = [];

  constructor(
    private readonly columns: readonly string[],
    private readonly options: { readonly sampleRows?: number; readonly nullText?: string } = {},
  ) {
    this.numeric = columns.map(() => true);
    this.widths = columns.map((name) => displayWidth(name));
  }

  /** Text to write for these rows: empty while the sample is being collected. */
  push(rows: readonly (readonly Cell[])[]): string {
    const { columns, numeric } = this;
    const texts = rows.map((row) =>
      columns.map((_, i) => {
        const cell = row[i];
        if (numeric[i] && cell != null && !isNumeric(cell)) numeric[i] = false;
        return cellText(cell, true, this.options.nullText);
      }),
    );
    if (!this.sample) return texts.map((t) => this.line(t)).join('');
    for (const t of texts) this.sample.push(t);
    return this.sample.length >= (this.options.sampleRows ?? ALIGN_SAMPLE_ROWS) ? this.flushSample() : '';
  }

  /** The rest: the header and the sample when fewer rows than the sample came. */
  end(): string {
    return this.sample ? this.flushSample() : '';
  }

  private flushSample(): string {
    const sample = this.sample ?? [];
    this.sample = undefined;
    const any = sample.length > 0;
    this.rightAligned = this.numeric.map((n) => any && n);
    for (const row of sample) row.forEach((text, i) => (this.widths[i] = Math.max(this.widths[i]!, displayWidth(text))));
    const header = this.line([...this.columns]) + this.line(this.widths.map((w) => '─'.repeat(w)));
    return header + sample.map((t) => this.line(t)).join('');
  }

  private line(cells: readonly string[]): string {
    let out = '';
    cells.forEach((text, i) => {
      const width = displayWidth(text);
      if (width > this.widths[i]!) this.widths[i] = width;
      const pad = ' '.repeat(this.widths[i]! - width);
      out += (i > 0 ? '  ' : '') + (this.rightAligned[i] ? pad + text : text + pad);
    });
    return out.trimEnd() + '\n';
  }
}

/** Aligned columns of a table held in memory: every row sizes the columns. */
export function formatAligned(table: Table): string {
  const writer = new AlignedWriter(table.columns, { sampleRows: Infinity, nullText: table.nullText });
  return writer.push(table.rows) + writer.end();
}

function displayWidth(text: string): number {
  // Code points, not UTF-16 units (∅, ─ and most text are one column each).
  let width = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) width--;
  }
  return width;
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
  if (cell instanceof FormattedNumber) return jsonValue(cell.value);
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
