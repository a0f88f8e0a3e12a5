// Types of the plain-JS no-op fast path (it runs before TypeScript can be loaded).
export declare const WITNESS_VERSION: number;
export declare function witnessPath(root: string): string;
export declare function tryNoopFastPath(
  argv: readonly string[],
  io?: { cwd?: string; env?: NodeJS.ProcessEnv; out?: NodeJS.WritableStream & { isTTY?: boolean } },
): Promise<boolean>;
