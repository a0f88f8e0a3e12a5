// pipeline.yaml -> every stage's validated, effective parameters. Errors carry a location
// (`pipeline.yaml:12:5`, or the `--set` argument they came from) and the offending line underlined.
import { closest, distance } from 'fastest-levenshtein';
import { isMap, isPair, isScalar, LineCounter, parse as parseYaml, parseDocument, type Node, type Pair } from 'yaml';
import { z } from 'zod';
import type { PipelineParams, Stage } from '../contract/stage.ts';

export interface ConfigIssue {
  /** `pipeline.yaml:12:5`, `--set train.epochs=thirty`, or just a file name. */
  readonly location: string;
  readonly message: string;
  /** The offending source line with a caret underline, when there is one. */
  readonly excerpt?: string;
}

/** A problem with the user's configuration (pipeline.yaml, --set, pipeline.lock): exit code 2. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((i) => `${i.location}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** Where the first problem is, e.g. `pipeline.yaml:12:5`. */
  get location(): string {
    return this.issues[0]?.location ?? '';
  }

  /** Every issue as `location: message` followed by its underlined source line. */
  format(): string {
    return this.issues.map((i) => `${i.location}: ${i.message}${i.excerpt ? `\n${i.excerpt}` : ''}`).join('\n\n');
  }
}

/** `; did you mean "x"?` for a near miss, else the valid names (unless the caller lists them itself). */
export function suggestion(name: string, valid: readonly string[], listValid = true): string {
  if (valid.length === 0) return '';
  const best = closest(name, [...valid]);
  const near = distance(name, best) <= Math.max(2, Math.floor(name.length / 2));
  if (near) return `; did you mean "${best}"?`;
  return listValid ? `; valid: ${valid.join(', ')}` : '';
}

export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

/**
 * A rejected value as the user typed it (`source`), not as parsed: YAML reads `.nan` as NaN and an
 * empty value as null, and "got null" would echo neither. Numbers and booleans read as typed (0, -1,
 * true); a bare word is quoted ("thirty"); an empty value is "nothing".
 */
export function typedValue(source: string | undefined, value: unknown): string {
  const text = source?.trim();
  if (text === undefined) return formatValue(value);
  if (text === '') return 'nothing';
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return text;
  if (typeof value === 'object' && value !== null) return text;
  if (typeof value === 'string' && /^["']/.test(text)) return text;
  return JSON.stringify(text);
}

/** The keys of a stage's parameter schema (paramsOf builds a strict zod object). */
export function paramKeys(stage: Stage): string[] {
  const schema = stage.params as unknown;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

interface Span {
  readonly start: number;
  readonly end: number;
}

interface Source {
  readonly label: string;
  readonly text: string;
  readonly lines: LineCounter;
}

function issueAt(source: Source, span: Span, message: string): ConfigIssue {
  const { line, col } = source.lines.linePos(span.start);
  const lineText = source.text.split(/\r?\n/)[line - 1] ?? '';
  const endPos = source.lines.linePos(Math.max(span.start, span.end - 1));
  const endCol = endPos.line === line ? endPos.col : lineText.length;
  const width = Math.max(1, endCol - col + 1);
  return { location: `${source.label}:${line}:${col}`, message, excerpt: sourceExcerpt(lineText, line, col, width) };
}

/** A source line with its number and `width` carets under column `col` (1-based). */
export function sourceExcerpt(lineText: string, line: number, col: number, width: number): string {
  const gutter = String(line).length;
  return (
    `${' '.repeat(gutter + 1)}|\n` +
    `${line} | ${lineText}\n` +
    `${' '.repeat(gutter + 1)}| ${' '.repeat(col - 1)}${'^'.repeat(Math.max(1, width))}`
  );
}

function spanOf(node: unknown): Span | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? { start: range[0], end: range[1] } : undefined;
}

function pairSpan(pair: Pair): Span | undefined {
  const key = spanOf(pair.key);
  const value = spanOf(pair.value);
  if (!key) return value;
  return { start: key.start, end: value?.end ?? key.end };
}

/** One `--set stage.key=value`, the value parsed as a YAML scalar. */
export interface Override {
  readonly text: string;
  readonly stage: string;
  readonly key: string;
  readonly value: unknown;
  /** The value as typed after `=`. */
  readonly valueText: string;
}

export function parseOverride(text: string, registry: readonly Stage[]): Override | ConfigIssue {
  const location = `--set ${text}`;
  const match = /^([^.=\s]+)\.([^=\s]+)=(.*)$/s.exec(text);
  if (!match) return { location, message: 'expected stage.key=value, e.g. --set train.epochs=50' };
  const [, stageName = '', key = '', valueText = ''] = match;
  const stage = registry.find((s) => s.name === stageName);
  if (!stage) {
    const names = registry.map((s) => s.name);
    return { location, message: `unknown stage "${stageName}"${suggestion(stageName, names)}` };
  }
  const keys = paramKeys(stage);
  if (!keys.includes(key)) {
    return { location, message: `unknown key ${stageName}.${key}${suggestion(key, keys, false)}${keysList(stage)}` };
  }
  let value: unknown;
  try {
    value = parseYaml(valueText);
  } catch {
    value = valueText;
  }
  return { text, stage: stageName, key, value, valueText };
}

function keysList(stage: Stage): string {
  const keys = paramKeys(stage);
  return keys.length === 0 ? ` (${stage.name} takes no parameters)` : ` (${stage.name} takes: ${keys.join(', ')})`;
}

export interface Config {
  /** Every registered stage's effective params: file values, then --set overrides, then defaults. */
  readonly params: PipelineParams;
  readonly overrides: readonly Override[];
  /**
   * Where a problem with these keys ("stage.key") is to be shown: the first key a --set or the file
   * sets, else the stage's entry in the file, else the file itself. For errors only the data reveals.
   */
  issueAt(keys: readonly string[], message: string): ConfigIssue;
}

/**
 * Validates the text of pipeline.yaml against the stages' schemas and applies `--set` overrides.
 * `label` is how the file is named in messages (its path relative to the working folder).
 */
export function parseConfig(
  label: string,
  text: string,
  registry: readonly Stage[],
  sets: readonly string[] = [],
): Config {
  const lines = new LineCounter();
  const source: Source = { label, text, lines };
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => issueAt(source, { start: e.pos[0], end: e.pos[1] }, `invalid YAML: ${e.message.split('\n')[0]}`)),
    );
  }
  const issues: ConfigIssue[] = [];
  const raw = new Map<string, Record<string, unknown>>();
  const keySpans = new Map<string, Span | undefined>();
  const stageSpans = new Map<string, Span>();
  /** The text of each value in the file, as typed, for error messages. */
  const valueTexts = new Map<string, string>();
  const names = registry.map((s) => s.name);

  const root = doc.contents;
  if (root !== null && !isMap(root)) {
    issues.push(issueAt(source, spanOf(root) ?? { start: 0, end: 1 }, 'expected a mapping with a "stages" key'));
  }
  for (const item of isMap(root) ? root.items : []) {
    const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
    if (key !== 'stages') {
      issues.push(issueAt(source, pairSpan(item) ?? { start: 0, end: 1 }, `unknown key "${key}"${suggestion(key, ['stages'])}`));
      continue;
    }
    if (item.value === null || (isScalar(item.value) && item.value.value === null)) continue;
    if (!isMap(item.value)) {
      issues.push(issueAt(source, spanOf(item.value) ?? pairSpan(item)!, 'stages must be a mapping of stage names to their parameters'));
      continue;
    }
    for (const stagePair of item.value.items) {
      const stageName = isScalar(stagePair.key) ? String(stagePair.key.value) : String(stagePair.key);
      const stage = registry.find((s) => s.name === stageName);
      const stageSpan = spanOf(stagePair.key) ?? pairSpan(stagePair)!;
      if (!stage) {
        issues.push(issueAt(source, stageSpan, `unknown stage "${stageName}"${suggestion(stageName, names)}`));
        continue;
      }
      const values: Record<string, unknown> = {};
      raw.set(stageName, values);
      stageSpans.set(stageName, stageSpan);
      const body = stagePair.value;
      if (body === null || (isScalar(body) && body.value === null)) continue;
      if (!isMap(body)) {
        issues.push(issueAt(source, spanOf(body) ?? stageSpan, `${stageName} must be a mapping of parameters, e.g. ${stageName}: {}`));
        continue;
      }
      const keys = paramKeys(stage);
      for (const pair of body.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const span = pairSpan(pair);
        if (!keys.includes(key)) {
          issues.push(
            issueAt(source, spanOf(pair.key) ?? span!, `unknown key ${stageName}.${key}${suggestion(key, keys, false)}${keysList(stage)}`),
          );
          continue;
        }
        const value = pair.value;
        values[key] = isScalar(value) ? value.value : (value as Node | null)?.toJSON();
        keySpans.set(`${stageName}.${key}`, span);
        const valueSpan = spanOf(value);
        valueTexts.set(`${stageName}.${key}`, valueSpan ? text.slice(valueSpan.start, valueSpan.end) : '');
      }
    }
  }

  const overrides: Override[] = [];
  const overrideOf = new Map<string, Override>();
  for (const text of sets) {
    const parsed = parseOverride(text, registry);
    if ('location' in parsed) {
      issues.push(parsed);
      continue;
    }
    overrides.push(parsed);
    overrideOf.set(`${parsed.stage}.${parsed.key}`, parsed);
    const values = raw.get(parsed.stage) ?? {};
    values[parsed.key] = parsed.value;
    raw.set(parsed.stage, values);
  }

  const params: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const stage of registry) {
    const values = raw.get(stage.name) ?? {};
    const result = stage.params.safeParse(values);
    if (result.success) {
      params[stage.name] = result.data as Record<string, unknown>;
      continue;
    }
    for (const problem of result.error.issues) {
      const key = String(problem.path[0] ?? '');
      const name = key ? `${stage.name}.${key}` : stage.name;
      const override = overrideOf.get(name);
      const typed = override ? override.valueText : valueTexts.get(name);
      const message = `${name} ${problem.message}, got ${key ? typedValue(typed, values[key]) : formatValue(values)}`;
      const span = keySpans.get(name);
      if (override) issues.push({ location: `--set ${override.text}`, message });
      else if (span) issues.push(issueAt(source, span, message));
      else issues.push({ location: label, message });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const locate = (keys: readonly string[], message: string): ConfigIssue => {
    for (const name of keys) {
      const override = overrideOf.get(name);
      if (override) return { location: `--set ${override.text}`, message };
    }
    for (const name of keys) {
      const span = keySpans.get(name);
      if (span) return issueAt(source, span, message);
    }
    for (const name of keys) {
      const span = stageSpans.get(name.split('.')[0] ?? '');
      if (span) return issueAt(source, span, message);
    }
    return { location: label, message };
  };
  return { params, overrides, issueAt: locate };
}
