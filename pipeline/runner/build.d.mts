// Types of the plain-JS CLI build (it runs before TypeScript can be loaded).
export interface BuildManifest {
  format: number;
  root: string;
  /** URL of the built CLI entry. */
  main: string;
  /** Source URL of each worker script -> URL of its build. */
  workers: Record<string, string>;
  /** Every file the build was made from: path, size, mtimeMs, ctimeMs, ino, dev. */
  inputs: [string, number, number, number, number, number][];
  /** Each bundled source (absolute path) and the sha256 of the bytes it was built from. */
  modules: [string, string][];
  /** Each bundled package folder and the package it was built from. */
  packages: [string, { name: string; version: string; integrity: string }][];
}
export declare function buildDir(root?: string): string;
export declare function currentBuild(root?: string): BuildManifest | undefined;
export declare function makeBuild(options?: { root?: string; keep?: boolean }): Promise<BuildManifest | undefined>;
export declare function cliBuild(options?: { root?: string; env?: NodeJS.ProcessEnv }): Promise<BuildManifest | undefined>;
