// Types of the plain-JS project discovery (the no-op fast path needs it before TypeScript loads).
export declare const CONFIG_FILE: string;
export declare function findProjectRoot(cwd: string): string | undefined;
