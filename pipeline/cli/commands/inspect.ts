// `pipeline inspect [STAGE[/ARTIFACT]]`: every artifact at a glance, or one artifact in detail.
import { humanSize, selectArtifacts } from '../../inspect/artifacts.ts';
import { inspectArtifact, listArtifactFacts, type ArrowDetail, type ArtifactDetail, type ListedArtifact, type RowRange } from '../../inspect/inspect.ts';
import { CommandFailure, countOption, guarded, openInspection, parseCount, setOption, staleWarning, warn, writeOut } from '../inspection.ts';
import { AlignedWriter, formatAligned, formatCsvRows, formatTable, outputFormat, toJson, type Cell, type OutputFormat, type Table } from '../../inspect/table.ts';
import { defineCommand, type Io } from '../command.ts';

interface InspectArgs {
  target?: string;
  head?: string;
  tail?: string;
  json?: boolean;
  csv?: boolean;
  config?: string;
  set?: string[];
}

function statusText(a: ListedArtifact): string {
  if (!a.exists) return 'missing';
  return a.fresh ? 'fresh' : `stale: ${a.reasons.join('; ') || 'out of date'}`;
}

function listingTable(listed: readonly ListedArtifact[], format: OutputFormat): Table {
  const readable = format === 'table';
  return {
    columns: ['stage', 'file', 'format', 'rows', 'size', readable ? 'status' : 'fresh'],
    nullText: '',
    rows: listed.map((a) => [
      a.stage,
      a.file,
      a.format,
      a.rows ?? null,
      readable ? (a.size === null ? null : humanSize(a.size)) : a.size,
      readable ? statusText(a) : a.fresh,
    ]),
  };
}

function keyValues(pairs: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v ?? ''}`).join('\n') + '\n';
}

function rowsTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): Table {
  return { columns, rows };
}

/** Stands for the head and tail rows in the JSON document until they are streamed in. */
const ROWS_HERE = '\u0000rows\u0000';

/** Rows shown when --head/--tail are not given (the aligned and JSON views). */
const SAMPLE_ROWS = 5;

/** Streams the first and last rows as one CSV table, each row once, after its 0-based position in the file. */
async function writeSampleRowsCsv(d: ArrowDetail, io: Io): Promise<void> {
  const columns = ['row', ...d.columns.map((c) => c.name)];
  await writeOut(io.stdout, formatCsvRows(columns, [columns]));
  const ranges = [d.head, { from: Math.max(d.tail.from, d.head.to), to: d.tail.to }];
  for (const range of ranges) {
    let at = range.from;
    await d.readRows(range, (rows) => writeOut(io.stdout, formatCsvRows(columns, rows.map((row) => [at++, ...row]))));
  }
}

/** Streams rows as the items of a JSON array (`[` and `]` are the caller's), as JSON.stringify would indent them. */
async function writeJsonRows(d: ArrowDetail, range: RowRange, indent: string, io: Io): Promise<void> {
  const names = d.columns.map((c) => c.name);
  let first = true;
  await d.readRows(range, async (rows) => {
    const items = rows.map((row) => {
      const text = toJson(Object.fromEntries(names.map((n, i) => [n, row[i] ?? null]))).trimEnd();
      return indent + text.replace(/\n/g, `\n${indent}`);
    });
    await writeOut(io.stdout, `${first ? '\n' : ',\n'}${items.join(',\n')}`);
    first = false;
  });
  if (!first) await writeOut(io.stdout, `\n${indent.slice(2)}`);
}

/** An aligned table of rows streamed from the file: columns sized from the first rows. */
async function writeAlignedRows(d: ArrowDetail, range: RowRange, io: Io): Promise<void> {
  const table = new AlignedWriter(d.columns.map((c) => c.name));
  await d.readRows(range, (rows) => writeOut(io.stdout, table.push(rows)));
  await writeOut(io.stdout, table.end());
}

async function renderDetail(d: ArtifactDetail, format: OutputFormat, io: Io, rowsAsked: boolean): Promise<void> {
  const { artifact: a, detail } = d;
  const facts: [string, Cell][] = [
    ['artifact', `${a.stage}/${a.file}`],
    ['path', a.path],
    ['format', a.format],
    ['size', format === 'table' && a.size !== null ? `${humanSize(a.size)} (${a.size} bytes)` : a.size],
    ['fresh', a.fresh],
  ];
  if (format === 'json') {
    const base = { stage: a.stage, file: a.file, path: a.path, format: a.format, size: a.size, fresh: a.fresh, reasons: a.reasons };
    switch (detail.kind) {
      case 'arrow': {
        // The head and tail rows are streamed into the document where the placeholders are.
        const [before, between, after] = toJson({
          ...base,
          rows: detail.rows,
          batches: detail.batches,
          schema: detail.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
          stats: detail.columns.map((c) => ({ name: c.name, nulls: c.nulls, min: c.min, max: c.max, mean: c.mean })),
          head: ROWS_HERE,
          tail: ROWS_HERE,
        }).split(JSON.stringify(ROWS_HERE)) as [string, string, string];
        await writeOut(io.stdout, `${before}[`);
        await writeJsonRows(detail, detail.head, '    ', io);
        await writeOut(io.stdout, `]${between}[`);
        await writeJsonRows(detail, detail.tail, '    ', io);
        await writeOut(io.stdout, `]${after}`);
        return;
      }
      case 'json':
        io.stdout.write(toJson({ ...base, content: detail.content }));
        return;
      case 'image':
        io.stdout.write(toJson({ ...base, width: detail.width ?? null, height: detail.height ?? null }));
        return;
      case 'csv':
        io.stdout.write(toJson({ ...base, header: detail.header, rows: detail.rows ?? null }));
        return;
      case 'text':
        io.stdout.write(toJson({ ...base, content: detail.content }));
        return;
      case 'binary':
        io.stdout.write(toJson(base));
        return;
    }
  }
  if (format === 'csv') {
    // One table per artifact kind so the output stays valid CSV: the column summary for Arrow,
    // key/value pairs otherwise.
    if (detail.kind === 'arrow' && rowsAsked) {
      await writeSampleRowsCsv(detail, io);
      return;
    }
    if (detail.kind === 'arrow') {
      io.stdout.write(
        formatTable(
          rowsTable(
            ['name', 'type', 'nullable', 'nulls', 'min', 'max', 'mean'],
            detail.columns.map((c) => [c.name, c.type, c.nullable, c.nulls, c.min, c.max, c.mean]),
          ),
          'csv',
        ),
      );
      return;
    }
    const extra: [string, Cell][] =
      detail.kind === 'image'
        ? [['width', detail.width ?? null], ['height', detail.height ?? null]]
        : detail.kind === 'csv'
          ? [['header', detail.header.join(',')], ['rows', detail.rows ?? null]]
          : detail.kind === 'json' || detail.kind === 'text'
            ? [['content', detail.kind === 'json' ? JSON.stringify(detail.content) : detail.content]]
            : [];
    io.stdout.write(formatTable(rowsTable(['key', 'value'], [...facts, ...extra]), 'csv'));
    return;
  }
  switch (detail.kind) {
    case 'arrow': {
      io.stdout.write(keyValues([...facts, ['rows', `${detail.rows} in ${detail.batches} record batch${detail.batches === 1 ? '' : 'es'}`]]));
      io.stdout.write('\ncolumns\n');
      io.stdout.write(
        formatAligned(
          rowsTable(
            ['name', 'type', 'nullable', 'nulls', 'min', 'max', 'mean'],
            detail.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', c.nulls, c.min, c.max, c.mean]),
          ),
        ),
      );
      for (const [label, range] of [['first', detail.head], ['last', detail.tail]] as const) {
        const count = range.to - range.from;
        if (count === 0) continue;
        await writeOut(io.stdout, `\n${label} ${count} row${count === 1 ? '' : 's'}\n`);
        await writeAlignedRows(detail, range, io);
      }
      return;
    }
    case 'json':
      io.stdout.write(keyValues(facts) + '\n' + JSON.stringify(detail.content, null, 2) + '\n');
      return;
    case 'image':
      io.stdout.write(
        keyValues([...facts, ['dimensions', detail.width !== undefined ? `${detail.width} × ${detail.height} px` : 'unknown']]),
      );
      return;
    case 'csv':
      io.stdout.write(
        keyValues([
          ...facts,
          ['columns', detail.header.join(', ')],
          ['rows', detail.rows ?? `not counted (over ${humanSize(128 * 1024 * 1024)})`],
        ]),
      );
      return;
    case 'text':
      io.stdout.write(keyValues(facts) + '\n' + detail.content + (detail.content.endsWith('\n') ? '' : '\n'));
      return;
    case 'binary':
      io.stdout.write(keyValues(facts));
      return;
  }
}

export const inspectCommand = defineCommand<InspectArgs>({
  command: 'inspect [target]',
  describe: 'list every artifact, or show one (STAGE or STAGE/ARTIFACT): schema, stats, first and last rows',
  builder: (y) =>
    y
      .positional('target', { type: 'string', describe: 'a stage (aggregate) or an artifact (aggregate/daily, aggregate/daily.arrow)' })
      .option('head', countOption(`first rows of an Arrow artifact to show (default ${SAMPLE_ROWS})`))
      .option('tail', countOption(`last rows of an Arrow artifact to show (default ${SAMPLE_ROWS})`))
      .option('set', setOption)
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('csv', {
        type: 'boolean',
        describe:
          'print CSV: the listing; for an Arrow artifact its column summary (name, type, nullable, nulls, min, max, mean), ' +
          'or with --head/--tail those rows instead, a "row" column first giving each row\'s 0-based position in the file',
      })
      .example('$0 inspect aggregate/daily --csv --tail 30', 'the last 30 days as CSV: row,date,price,…') as never,
  async run(args, io) {
    return guarded(io, 'inspect', async () => {
      const format = outputFormat(args);
      // CSV holds one table: the column summary, or the rows when rows are asked for. Asking for
      // only --tail as CSV prints only the tail.
      const rowsAsked = format === 'csv' && (args.head !== undefined || args.tail !== undefined);
      const head = parseCount('head', args.head) ?? (rowsAsked ? 0 : SAMPLE_ROWS);
      const tail = parseCount('tail', args.tail) ?? (rowsAsked ? 0 : SAMPLE_ROWS);
      const inspection = await openInspection(args, io);
      const { project, artifacts, freshness } = inspection;
      let listed = artifacts;
      if (args.target !== undefined) {
        const selection = selectArtifacts(artifacts, args.target);
        switch (selection.kind) {
          case 'unknown-stage':
            throw new CommandFailure(`no stage "${selection.stage}"; stages: ${selection.valid.join(', ')}`, 2);
          case 'unknown-artifact':
            throw new CommandFailure(
              `stage ${selection.stage} has no artifact "${selection.name}"; its artifacts: ${selection.valid.join(', ')}`,
              2,
            );
          case 'stage':
            listed = selection.artifacts;
            break;
          case 'artifact': {
            const detail = await inspectArtifact(selection.artifact, freshness, project.root, { head, tail });
            if (!detail.artifact.exists) {
              throw new CommandFailure(
                `${detail.artifact.path} does not exist yet; "pipeline run ${selection.artifact.stage}" produces it`,
                1,
              );
            }
            warn(io, staleWarning(selection.artifact.stage, inspection));
            await renderDetail(detail, format, io, rowsAsked);
            return 0;
          }
        }
      }
      const facts = await listArtifactFacts(listed, freshness, project.root);
      if (format === 'json') {
        io.stdout.write(
          toJson(
            facts.map((a) => ({
              stage: a.stage,
              file: a.file,
              path: a.path,
              format: a.format,
              exists: a.exists,
              rows: a.rows ?? null,
              size: a.size,
              fresh: a.fresh,
              reasons: a.reasons,
            })),
          ),
        );
      } else {
        io.stdout.write(formatTable(listingTable(facts, format), format));
      }
      return 0;
    }, args.json === true);
  },
});
