// The code a stage runs, as a module graph. Each module is compiled the way tsx compiles it when the
// stage loads (esbuild strips the types, so `import type` and type-only names vanish exactly as they do
// at run time) and the JavaScript is parsed with acorn, so comments and strings that only look like
// imports are just text, and every way a module loads or locates another file is seen:
//   import … from '…' and export … from '…'
//   import('…')                       a literal, or a template literal without ${}
//   require('…'), require.resolve('…') CommonJS, or a function made by createRequire(…)
//   import.meta.resolve('…')
//   new URL('…', import.meta.url)      worker scripts, data files beside the code
// A specifier computed at run time can't be followed: it is an error with its place in the source,
// never a silent gap in the fingerprint. So are import.meta.dirname / import.meta.filename and
// fileURLToPath(import.meta.url), which only serve to build paths the graph can't see. A file reached
// through new URL or import.meta.resolve that is not a module is data the code reads beside itself:
// the project makes it an input of the stage (project.ts).
//
// Parsing costs esbuild's start (~50 ms) and a few ms per file, so each file's dependencies are cached by
// its content hash in artifacts/.cache/modules.json; an unchanged project only reads and hashes its
// files, the same bytes the fingerprint hashes anyway. Within one process each file is read and hashed
// once: the stages share most of their modules, and a command builds each closure two or three times
// (loading the project, checking each stage, the no-op witness). A later closure reuses a file's hash
// only while its stat stamp (size, mtime, ctime, inode, device) is the one taken before it was read and
// was not racily close to that read: the stat cache's trust model (hash.ts), for which any write moves
// ctime. `fresh` (the check after a stage ran, verify.ts) reads every file again.
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, sourceExcerpt, type ConfigIssue } from './config.ts';
import { canonicalJson, racy, sameStamp, sha256Text, stampOf, type FileStamp, type Sha256 } from './hash.ts';

/** How a module names another file. */
export type DependencyKind = 'import' | 'import()' | 'require' | 'import.meta.resolve' | 'new URL';

interface Dependency {
  readonly kind: DependencyKind;
  readonly specifier: string;
  /** 1-based, in the original source. */
  readonly line: number;
  readonly column: number;
}

interface Problem {
  readonly line: number;
  readonly column: number;
  /** How many characters to underline. */
  readonly width: number;
  readonly message: string;
}

interface Analysis {
  readonly dependencies: readonly Dependency[];
  readonly problems: readonly Problem[];
}

/** The code reached from one entry module. */
export interface CodeClosure {
  readonly entry: string;
  /** Every module file (code, and JSON imported as a module), absolute path -> sha256 of its bytes. */
  readonly modules: ReadonlyMap<string, Sha256>;
  /** Files that are not modules, named by new URL(…, import.meta.url) or import.meta.resolve: data the
   *  code reads beside itself. Absolute path -> the module that names it. */
  readonly data: ReadonlyMap<string, string>;
  /** Paths looked for and not found while resolving (an import of './x' tried './x.ts' before './x.js'):
   *  one appearing would change what a specifier resolves to. */
  readonly absent: readonly string[];
}

/** Extensions of the files that are parsed for their own dependencies. */
const CODE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
const COMMONJS_EXTENSIONS = new Set(['.cjs', '.cts']);
/** What an extensionless import may mean, in the order Node's CommonJS resolver and tsx try them. */
const RESOLVE_EXTENSIONS = [...CODE_EXTENSIONS, '.json', '.node'];
/** tsx lets `./x.js` name `./x.ts` (TypeScript's own convention). */
const TS_COUNTERPARTS: Readonly<Record<string, readonly string[]>> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};

const CALL_NAMES: Readonly<Record<DependencyKind, string>> = {
  import: 'import',
  'import()': 'import()',
  require: 'require()',
  'import.meta.resolve': 'import.meta.resolve()',
  'new URL': 'new URL()',
};

/** Bump when the analysis changes, so cached results of the old one are not used. */
const ANALYSER = 1;

export function isCodeFile(path: string): boolean {
  return CODE_EXTENSIONS.includes(extname(path));
}

type Node = { readonly type: string; readonly start: number; readonly loc?: { readonly start: { line: number; column: number } } } & Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** Calls `visit` on every node below `root` with its parent. */
function walk(root: Node, visit: (node: Node, parent: Node | undefined) => void): void {
  const stack: [Node, Node | undefined][] = [[root, undefined]];
  while (stack.length > 0) {
    const [node, parent] = stack.pop()!;
    visit(node, parent);
    for (const key of Object.keys(node)) {
      if (key === 'loc') continue;
      const value = node[key];
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) if (isNode(value[i])) stack.push([value[i] as Node, node]);
      } else if (isNode(value)) stack.push([value, node]);
    }
  }
}

function child(node: Node, key: string): Node | undefined {
  const value = node[key];
  return isNode(value) ? value : undefined;
}

function children(node: Node, key: string): Node[] {
  const value = node[key];
  return Array.isArray(value) ? value.filter(isNode) : [];
}

/** The string of a literal or of a template literal without substitutions; undefined when computed. */
function literal(node: Node | undefined): string | undefined {
  if (!node) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && children(node, 'expressions').length === 0) {
    const cooked = (children(node, 'quasis')[0]?.value as { cooked?: unknown } | undefined)?.cooked;
    return typeof cooked === 'string' ? cooked : undefined;
  }
  return undefined;
}

function isImportMeta(node: Node | undefined): boolean {
  return node?.type === 'MetaProperty' && (child(node, 'meta')?.name as unknown) === 'import';
}

/** `import.meta.<name>` */
function importMetaProperty(node: Node | undefined): string | undefined {
  if (node?.type !== 'MemberExpression' || node.computed || !isImportMeta(child(node, 'object'))) return undefined;
  return child(node, 'property')?.name as string | undefined;
}

/** The name a callee is called by: `f` for f(…), `f` for a.f(…). */
function calleeName(node: Node | undefined): string | undefined {
  if (node?.type === 'Identifier') return node.name as string;
  if (node?.type === 'MemberExpression' && !node.computed) return child(node, 'property')?.name as string | undefined;
  return undefined;
}

/** The identifiers a binding pattern declares (`a`, `{ a, b: [c] }`, `...d`, `e = 1`). */
function boundNames(pattern: Node | undefined, out: string[] = []): string[] {
  if (!pattern) return out;
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name as string);
      break;
    case 'ObjectPattern':
      for (const property of children(pattern, 'properties')) boundNames(property.type === 'RestElement' ? child(property, 'argument') : child(property, 'value'), out);
      break;
    case 'ArrayPattern':
      for (const element of children(pattern, 'elements')) boundNames(element, out);
      break;
    case 'AssignmentPattern':
      boundNames(child(pattern, 'left'), out);
      break;
    case 'RestElement':
      boundNames(child(pattern, 'argument'), out);
      break;
  }
  return out;
}

/**
 * Resolves an identifier to the string of a `const name = '…'` when that is the only binding of the
 * name in the module and the reference lies inside the block that declares it: a const bound to a
 * literal is that literal (e.g. an optional package's name kept out of TypeScript's sight).
 */
function literalConstants(ast: Node): (reference: Node) => string | undefined {
  const bindings = new Map<string, number>();
  const constants = new Map<string, { value: string; scope: Node }>();
  const bind = (names: string[]) => names.forEach((name) => bindings.set(name, (bindings.get(name) ?? 0) + 1));
  walk(ast, (node, parent) => {
    switch (node.type) {
      case 'VariableDeclaration':
        for (const declarator of children(node, 'declarations')) {
          const names = boundNames(child(declarator, 'id'));
          bind(names);
          const value = literal(child(declarator, 'init'));
          // Its block: where it is declared (an exported one is the module's).
          const scope = parent?.type === 'ExportNamedDeclaration' ? ast : parent;
          if (node.kind === 'const' && names.length === 1 && child(declarator, 'id')?.type === 'Identifier' && value !== undefined && scope) {
            constants.set(names[0]!, { value, scope });
          }
        }
        return;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
      case 'ClassDeclaration':
      case 'ClassExpression':
        bind(boundNames(child(node, 'id')));
        for (const param of children(node, 'params')) bind(boundNames(param));
        return;
      case 'CatchClause':
        bind(boundNames(child(node, 'param')));
        return;
      case 'ImportSpecifier':
      case 'ImportDefaultSpecifier':
      case 'ImportNamespaceSpecifier':
        bind(boundNames(child(node, 'local')));
        return;
      default:
        return;
    }
  });
  return (reference) => {
    const name = reference.name as string;
    const constant = constants.get(name);
    if (!constant || bindings.get(name) !== 1) return undefined;
    const scope = constant.scope as Node & { end: number };
    return reference.start >= scope.start && reference.start < scope.end ? constant.value : undefined;
  };
}

/** Dependencies and problems of one module's source, positions in that source (test/layout.test.ts checks the rooms' imports with it). */
export async function analyse(file: string, source: string): Promise<Analysis> {
  const extension = extname(file);
  const loader = extension === '.tsx' ? 'tsx' : extension === '.jsx' ? 'jsx' : /^\.[mc]?ts$/.test(extension) ? 'ts' : 'js';
  const esbuild = await import('esbuild');
  let compiled: { code: string; map: string };
  try {
    compiled = await esbuild.transform(source, {
      loader,
      sourcefile: file,
      sourcemap: 'external',
      legalComments: 'none',
      target: 'esnext',
      logLevel: 'silent',
      // Keeps every import that is not marked as a type (TypeScript's rule under this project's
      // tsconfig); without it esbuild also drops imports whose names go unused.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
    });
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number; column: number; length: number } }[] }).errors?.[0];
    const at = first?.location;
    return {
      dependencies: [],
      problems: [{ line: at?.line ?? 1, column: (at?.column ?? 0) + 1, width: Math.max(1, at?.length ?? 1), message: `cannot be parsed: ${first?.text ?? String(error)}` }],
    };
  }
  const { SourceMap } = await import('node:module');
  const map = new SourceMap(JSON.parse(compiled.map) as never);
  const original = (node: Node) => {
    const start = node.loc!.start;
    const entry = map.findEntry(start.line - 1, start.column) as { originalLine?: number; originalColumn?: number };
    return entry.originalLine === undefined
      ? { line: start.line, column: start.column + 1 }
      : { line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
  };

  const acorn = await import('acorn');
  const parse = (sourceType: 'module' | 'script') =>
    acorn.parse(compiled.code, {
      ecmaVersion: 'latest',
      sourceType,
      locations: true,
      allowHashBang: true,
      allowReturnOutsideFunction: sourceType === 'script',
    }) as unknown as Node;
  let ast: Node;
  try {
    ast = parse(COMMONJS_EXTENSIONS.has(extension) ? 'script' : 'module');
  } catch (error) {
    // A .js file may be CommonJS, which sloppy mode allows more of.
    try {
      ast = parse('script');
    } catch {
      const at = (error as { loc?: { line: number; column: number } }).loc ?? { line: 1, column: 0 };
      const message = `cannot be parsed: ${(error as Error).message.replace(/ \(\d+:\d+\)$/, '')}`;
      return { dependencies: [], problems: [{ ...original({ type: 'Error', start: 0, loc: { start: at } }), width: 1, message }] };
    }
  }

  // The names a require function goes by: CommonJS's own, and whatever a createRequire(…) result is bound to.
  const createRequireNames = new Set(['createRequire']);
  const requireNames = new Set(['require']);
  walk(ast, (node) => {
    if (node.type === 'ImportDeclaration' && /^(node:)?module$/.test(String(child(node, 'source')?.value))) {
      for (const spec of children(node, 'specifiers')) {
        if (spec.type === 'ImportSpecifier' && child(spec, 'imported')?.name === 'createRequire') {
          createRequireNames.add(child(spec, 'local')!.name as string);
        }
      }
    }
  });
  const isCreateRequire = (node: Node | undefined) => node?.type === 'CallExpression' && createRequireNames.has(calleeName(child(node, 'callee')) ?? '');
  walk(ast, (node) => {
    if (node.type === 'VariableDeclarator' && isCreateRequire(child(node, 'init')) && child(node, 'id')?.type === 'Identifier') {
      requireNames.add(child(node, 'id')!.name as string);
    }
  });

  const constants = literalConstants(ast);
  const dependencies: Dependency[] = [];
  const problems: Problem[] = [];
  const depend = (kind: DependencyKind, at: Node, argument: Node | undefined, width: number) => {
    const specifier = literal(argument) ?? (argument?.type === 'Identifier' ? constants(argument) : undefined);
    if (specifier !== undefined) dependencies.push({ kind, specifier, ...original(at) });
    else problems.push({ ...original(at), width, message: `${CALL_NAMES[kind]} with a computed specifier can't be fingerprinted; use a literal` });
  };
  const unfollowable = (at: Node, width: number, what: string) =>
    problems.push({
      ...original(at),
      width,
      message: `${what} builds paths the fingerprint can't follow; name the file with new URL('./file', import.meta.url) or declare it in the stage's inputs()`,
    });

  walk(ast, (node, parent) => {
    switch (node.type) {
      case 'ImportDeclaration':
      case 'ExportNamedDeclaration':
      case 'ExportAllDeclaration': {
        const source = child(node, 'source');
        if (source) depend('import', node, source, 6);
        return;
      }
      case 'ImportExpression':
        depend('import()', node, child(node, 'source'), 6);
        return;
      case 'NewExpression': {
        const args = children(node, 'arguments');
        if (calleeName(child(node, 'callee')) === 'URL' && importMetaProperty(args[1]) === 'url') depend('new URL', node, args[0], 7);
        return;
      }
      case 'MemberExpression': {
        const name = importMetaProperty(node);
        if (name === 'dirname' || name === 'filename') unfollowable(node, 11 + name.length + 1, `import.meta.${name}`);
        return;
      }
      case 'CallExpression': {
        const callee = child(node, 'callee')!;
        const args = children(node, 'arguments');
        if (importMetaProperty(callee) === 'resolve') return depend('import.meta.resolve', node, args[0], 19);
        if (isCreateRequire(callee)) return depend('require', node, args[0], 7);
        if (callee.type === 'Identifier' && requireNames.has(callee.name as string)) return depend('require', node, args[0], (callee.name as string).length);
        if (
          callee.type === 'MemberExpression' &&
          !callee.computed &&
          child(callee, 'property')?.name === 'resolve' &&
          child(callee, 'object')?.type === 'Identifier' &&
          requireNames.has(child(callee, 'object')!.name as string)
        ) {
          return depend('require', node, args[0], 7);
        }
        if (calleeName(callee) === 'fileURLToPath' && importMetaProperty(args[0]) === 'url') return unfollowable(node, 13, 'fileURLToPath(import.meta.url)');
        if (isCreateRequire(node)) {
          // Bound to a name (followed above) or called at once; passed anywhere else, its calls can't be seen.
          const bound = parent?.type === 'VariableDeclarator' && child(parent, 'id')?.type === 'Identifier';
          const called = parent?.type === 'CallExpression' && parent.callee === node;
          if (!bound && !called) {
            problems.push({ ...original(node), width: 13, message: "createRequire() whose result is passed on can't be fingerprinted; bind it with const and call it with literals" });
          }
        }
        return;
      }
      default:
        return;
    }
  });
  return { dependencies, problems };
}

/** A problem found in a module, for the error that reports it. */
interface LocatedProblem extends Problem {
  readonly file: string;
}

type Resolved = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'package' } | { readonly kind: 'missing'; readonly message: string };

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/**
 * The file a specifier names from `from`, the way Node (with tsx) would load it. Packages (bare names and
 * builtins) are libraries, not part of the code closure.
 */
function resolveSpecifier(from: string, dep: Dependency, absent: Set<string>): Resolved {
  const spec = dep.specifier;
  if (dep.kind === 'new URL') {
    // A URL relative to the module ('table.csv' is as relative as './table.csv') names exactly one
    // file: no extensions are tried. Another scheme (https:, data:) is not a file of this machine.
    let url: URL;
    try {
      url = new URL(spec, pathToFileURL(from));
    } catch (error) {
      return { kind: 'missing', message: `'${spec}' is not a URL (${(error as Error).message})` };
    }
    if (url.protocol !== 'file:') return { kind: 'package' };
    const path = fileURLToPath(url);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isFile()) return { kind: 'file', path };
    if (st?.isDirectory()) return { kind: 'missing', message: `'${spec}' names a folder; name each file the code reads` };
    return { kind: 'missing', message: `cannot find '${spec}' (${path})` };
  }
  if (spec.startsWith('node:') || builtinModules.includes(spec)) return { kind: 'package' };
  if (spec.startsWith('#')) return { kind: 'missing', message: `package imports ('${spec}') can't be fingerprinted; use a relative path` };
  const relativeSpec = spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../');
  if (!relativeSpec && !spec.startsWith('/') && !spec.startsWith('file:')) return { kind: 'package' };

  let base: string;
  try {
    // require() takes paths; everything else takes URLs relative to the module (so '%20' is a space and
    // '?query' is not part of the file name).
    base = dep.kind === 'require' && !spec.startsWith('file:') ? resolve(dirname(from), spec) : fileURLToPath(new URL(spec, pathToFileURL(from)));
  } catch (error) {
    return { kind: 'missing', message: `'${spec}' is not a file path or file URL (${(error as Error).message})` };
  }
  const extension = extname(base);
  const candidates = [base];
  if (TS_COUNTERPARTS[extension]) for (const ts of TS_COUNTERPARTS[extension]) candidates.push(base.slice(0, -extension.length) + ts);
  if (!RESOLVE_EXTENSIONS.includes(extension)) {
    for (const ext of RESOLVE_EXTENSIONS) candidates.push(base + ext);
    for (const ext of RESOLVE_EXTENSIONS) candidates.push(join(base, `index${ext}`));
  }
  for (const candidate of candidates) {
    if (isFile(candidate)) return { kind: 'file', path: candidate };
    absent.add(candidate);
  }
  return { kind: 'missing', message: `cannot find '${spec}' (${base})` };
}

function insideNodeModules(path: string): boolean {
  return path.split(sep).includes('node_modules');
}

/**
 * Builds code closures and remembers each module's dependencies by content hash (artifacts/.cache/
 * modules.json). One per project; the cache is machine-local like the stat cache.
 */
export class ModuleGraph {
  private dirty = false;
  private readonly used = new Set<string>();
  /** Files read by this process: the stamp taken before the read, and the hash and text of the bytes read. */
  private readonly read = new Map<string, { readonly stamp: FileStamp; readonly hash: Sha256; readonly text: string | undefined }>();

  private constructor(
    private readonly file: string,
    private readonly cache: Map<string, Analysis>,
  ) {}

  static async open(cacheFile: string): Promise<ModuleGraph> {
    let cache = new Map<string, Analysis>();
    try {
      const parsed = JSON.parse(await readFile(cacheFile, 'utf8')) as { analyser?: number; modules?: Record<string, Analysis> };
      if (parsed.analyser === ANALYSER && parsed.modules) cache = new Map(Object.entries(parsed.modules));
    } catch {
      // Missing or corrupt: only a cache.
    }
    return new ModuleGraph(cacheFile, cache);
  }

  private async analysis(file: string, text: string, hash: Sha256): Promise<Analysis> {
    // The same bytes mean the same thing in a .ts and a .js file only by accident.
    const key = `${hash}${extname(file)}`;
    this.used.add(key);
    const known = this.cache.get(key);
    if (known) return known;
    const fresh = await analyse(file, text);
    this.cache.set(key, fresh);
    this.dirty = true;
    return fresh;
  }

  /**
   * The modules and data files reached from `entry`. Problems (a computed specifier, a file that isn't
   * there) are a ConfigError listing each with its place, unless `lenient` (the runner's own code, which
   * loads the stage registry by a computed path on purpose).
   */
  /** A file's hash, and its text when it is code: read now, or as read before if its stamp says it has not changed since. */
  private contents(file: string, fresh: boolean): { hash: Sha256; text: string | undefined } {
    const st = statSync(file, { throwIfNoEntry: false });
    const stamp = st && stampOf(st);
    const known = this.read.get(file);
    if (!fresh && known && sameStamp(known.stamp, stamp)) return known;
    const readAt = Date.now();
    // Sync: source files are small, and a closure reads a hundred of them one after another, where a
    // trip through the thread pool per file would cost more than the reads.
    const bytes = readFileSync(file);
    const read = { hash: sha256Text(bytes), text: isCodeFile(file) ? bytes.toString('utf8') : undefined };
    if (stamp && st.isFile() && !racy(stamp, readAt)) this.read.set(file, { stamp, ...read });
    else this.read.delete(file);
    return read;
  }

  async closure(entry: string, options: { lenient?: boolean; cwd?: string; fresh?: boolean } = {}): Promise<CodeClosure> {
    const modules = new Map<string, Sha256>();
    const data = new Map<string, string>();
    const absent = new Set<string>();
    const problems: LocatedProblem[] = [];
    const sources = new Map<string, string>();
    const pending = [entry];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (modules.has(file)) continue;
      const { hash, text } = this.contents(file, options.fresh ?? false);
      modules.set(file, hash);
      if (text === undefined) continue;
      sources.set(file, text);
      const { dependencies, problems: found } = await this.analysis(file, text, hash);
      for (const problem of found) problems.push({ file, ...problem });
      for (const dep of dependencies) {
        const target = resolveSpecifier(file, dep, absent);
        if (target.kind === 'package') continue;
        if (target.kind === 'missing') {
          problems.push({ file, line: dep.line, column: dep.column, width: dep.kind.length, message: target.message });
          continue;
        }
        // A file inside node_modules belongs to a package: the library closure covers it.
        if (insideNodeModules(target.path)) continue;
        if ((dep.kind === 'new URL' || dep.kind === 'import.meta.resolve') && !isCodeFile(target.path)) {
          if (!data.has(target.path)) data.set(target.path, file);
        }
        else pending.push(target.path);
      }
    }
    if (problems.length > 0 && !options.lenient) throw moduleError(problems, sources, options.cwd ?? process.cwd());
    return { entry, modules, data, absent: [...absent].sort() };
  }

  /** Writes new analyses; keeps at most what this process used plus the newest others, so it can't grow without end. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const keep = [...this.cache].filter(([key]) => this.used.has(key) || this.cache.size <= 2000);
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, JSON.stringify({ analyser: ANALYSER, modules: Object.fromEntries(keep) }));
    await rename(tmp, this.file);
    this.dirty = false;
  }
}

function moduleError(problems: readonly LocatedProblem[], sources: ReadonlyMap<string, string>, cwd: string): ConfigError {
  const issues: ConfigIssue[] = problems.map((p) => {
    const rel = relative(cwd, p.file);
    const label = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p.file;
    const lineText = sources.get(p.file)?.split(/\r?\n/)[p.line - 1];
    return {
      location: `${label.split(sep).join('/')}:${p.line}:${p.column}`,
      message: p.message,
      excerpt: lineText === undefined ? undefined : sourceExcerpt(lineText, p.line, p.column, p.width),
    };
  });
  return new ConfigError(issues);
}

/**
 * sha256 over the closure's modules, keyed by path relative to the entry's folder (so the hash is the
 * same in every checkout).
 */
export function codeHash(closure: CodeClosure): Sha256 {
  const base = dirname(closure.entry);
  const files: Record<string, Sha256> = {};
  for (const [file, hash] of closure.modules) files[relative(base, file).split(sep).join('/')] = hash;
  return sha256Text(canonicalJson(files));
}
