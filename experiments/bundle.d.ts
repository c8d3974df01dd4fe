// Types of experiments/bundle.js (plain JavaScript: it runs before TypeScript can be loaded).

/** A digest of the sources (.ts and .js) of the project at `root`, its tsconfig, esbuild's version and Node's. */
export function sourceDigest(root: string, esbuildVersion: string): string;

/** The URL of the CLI's bundle (built if the sources changed), or null and why not. */
export function cliBundle(): Promise<{ url: string | null; reason: string }>;

/** esbuild's version, from its package.json. */
export function esbuildVersion(): string;

/** sourceDigest of this project (computed once per process). */
export function projectDigest(): string;

/** The text of the cached file `name` (in node_modules/.cache/trainsim/), or undefined. */
export function readCached(name: string): string | undefined;

/** Puts `text` in the cache as `name`, atomically; returns its path. */
export function writeCached(name: string, text: string): string;

/** `entry` and what it imports as one script for Node 20, built by esbuild with `options` added. */
export function bundleText(entry: string, options: Record<string, unknown>): Promise<string>;

/**
 * `code` (a bundle) with `const` given back to its top-level numeric constants that are
 * in `declared` (default: those this project's sources declare `const`) and never written.
 */
export function constantsKeptConst(code: string, declared?: ReadonlySet<string>): string;
