// Types of the plain-JS module load recorder (it starts before TypeScript can be loaded).
export declare function recordModuleLoads(): void;
export declare function recordingModuleLoads(): boolean;
export declare function settleModuleLoads(): Promise<void>;
export declare function loadedHashes(path: string): ReadonlySet<string> | undefined;
export declare function packageLoaded(folder: string): boolean;
export declare function recordBuild(build: {
  modules: [string, string][];
  packages: [string, { name: string; version: string; integrity: string }][];
}): void;
export declare function builtPackage(folder: string): { name: string; version: string; integrity: string } | undefined;
