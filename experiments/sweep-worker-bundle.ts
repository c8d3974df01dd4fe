/**
 * What a sweep worker thread runs: the worker and every module it needs, bundled by
 * esbuild into one CommonJS script held in memory, or, if bundling fails, the tsx boot
 * file (sweep-worker-boot.js).
 *
 * Why a bundle: a thread booted through tsx resolves, transforms and links some fifty
 * TypeScript modules and lexes the CommonJS dependencies for their exports, ~0.3 s of
 * CPU per thread before its first point, and its optimizing compiler heats the loader's
 * code as well as the simulator's. On a two-core machine every such CPU-second is taken
 * from the other thread. A bundle is one parsed script: a thread is ready in ~0.1 s.
 * Building it takes esbuild ~0.2 s: it is kept in node_modules/.cache/trainsim/ beside
 * the CLI's bundle (experiments/bundle.js), under the digest of the sources and of
 * package-lock.json (it holds its dependencies too), and read from there while neither
 * changes. One process reads or builds it once and shares it with every sweep it runs.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundleText, projectDigest, readCached, writeCached } from "./bundle.js";

export type WorkerEntry = { kind: "bundle"; code: string } | { kind: "boot-file"; url: URL; reason: string };

const WORKER_TS = fileURLToPath(new URL("./sweep-worker.ts", import.meta.url));
const BOOT_FILE = new URL("./sweep-worker-boot.js", import.meta.url);
const LOCK_FILE = new URL("../package-lock.json", import.meta.url);

let entry: Promise<WorkerEntry> | undefined;

/** The worker's code (built on first call; later calls share it). */
export function sweepWorkerEntry(): Promise<WorkerEntry> {
  entry ??= bundle().catch((e: unknown) => ({ kind: "boot-file", url: BOOT_FILE, reason: e instanceof Error ? e.message : String(e) }) as const);
  return entry;
}

/** The cache's name for the worker bundle of these sources and dependencies. */
export function workerBundleName(): string {
  const lock = createHash("sha256").update(readFileSync(LOCK_FILE)).digest("hex").slice(0, 8);
  return `worker-${projectDigest()}-${lock}.cjs`;
}

async function bundle(): Promise<WorkerEntry> {
  if (process.env.TRAINSIM_SWEEP_WORKER === "tsx") return { kind: "boot-file", url: BOOT_FILE, reason: "TRAINSIM_SWEEP_WORKER=tsx" };
  let name: string | undefined;
  try {
    name = workerBundleName();
  } catch {
    // No lock file (an installed package): build every time, as without a cache.
  }
  const code = name === undefined ? undefined : readCached(name);
  if (code !== undefined) return { kind: "bundle", code };
  const built = await build();
  try {
    if (name !== undefined) writeCached(name, built.code);
  } catch {
    // A cache that cannot be written (a read-only install) only costs the next sweep a build.
  }
  return built;
}

async function build(): Promise<{ kind: "bundle"; code: string }> {
  // Dependencies inside: an evaluated script has no folder to resolve them from.
  return { kind: "bundle", code: await bundleText(WORKER_TS, { format: "cjs" }) };
}
