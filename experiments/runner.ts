/**
 * The sweep runner: runs an experiment's points in worker threads and streams each
 * finished point to `results.jsonl` as one whole line, so a killed sweep resumes where it
 * stopped (`resume`) and shards of a sweep spread over many machines merge into one set.
 *
 * Output folder (one per sweep, or one per shard: `<out>/shard-<i>-of-<n>/`):
 *   sweep.json     what was swept: experiment name, fingerprint, point count, parameters
 *   results.jsonl  one JSON object (SweepPointResult) per point, sorted by index at the end
 *   results.csv    one row per point: index, seed, parameters, status and the headline numbers
 *
 * Every byte of these files depends only on the experiment: not on the worker count, the
 * order points finish in, or how the sweep was sharded (keys are serialised sorted).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { CATEGORIES } from "../models/categories.ts";
import { writeAtomically } from "../reports/atomic-write.ts";
import { ConfigError } from "./errors.ts";
import type { PointTask } from "./evaluate.ts";
import { expandPoints, experimentFingerprint, paramNames, pointScenario, type Experiment } from "./experiment.ts";
import { stableStringify } from "./stable-json.ts";
import { isPlainObject, showValue } from "./schema.ts";
import type { SweepPoint, SweepPointResult } from "../models/results.ts";
import { sweepWorkerEntry, type WorkerEntry } from "./sweep-worker-bundle.ts";

export const RESULTS_JSONL = "results.jsonl";
export const RESULTS_CSV = "results.csv";
export const MANIFEST = "sweep.json";
export const MANIFEST_FORMAT = "trainsim-sweep/1";

/** Bad flags or unusable output folders: a ConfigError, so the CLI exits 2 and prints no stack. */
export class SweepInputError extends ConfigError {
  constructor(path: string, value: unknown, detail: string, where = "trainsim") {
    super([{ path, value, message: `${path}: ${detail}` }], where);
    this.name = "SweepInputError";
  }
}

export { evaluatePoint, type PointTask } from "./evaluate.ts";

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------
// Files

export interface SweepManifest {
  format: string;
  experiment: string;
  description?: string;
  /** Digest of the experiment's base scenario and points; shards and resumed runs must match it. */
  fingerprint: string;
  /** Points in the whole experiment (all shards). */
  points: number;
  /** Swept dotted paths, in column order. */
  params: string[];
  reports: string[];
  /** This folder's slice, or null for the whole sweep. */
  shard: { index: number; count: number } | null;
  /** Only in a merge made with --allow-partial: the indices it lacks. */
  missing?: number[];
}

export function manifestFor(exp: Experiment, points: readonly SweepPoint[], shard: Shard | null): SweepManifest {
  return {
    format: MANIFEST_FORMAT,
    experiment: exp.name,
    ...(exp.description !== undefined ? { description: exp.description } : {}),
    fingerprint: experimentFingerprint(exp, points),
    points: points.length,
    params: paramNames(exp),
    reports: exp.reports,
    shard: shard === null ? null : { index: shard.index, count: shard.count },
  };
}

export function readManifest(dir: string): SweepManifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  try {
    const m = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (isPlainObject(m) && m["format"] === MANIFEST_FORMAT) return m as unknown as SweepManifest;
  } catch {
    // fall through
  }
  throw new SweepInputError(path, undefined, `is not a trainsim sweep manifest (${MANIFEST_FORMAT}); it may be damaged: remove the folder, or point elsewhere`);
}

export interface ResultsFile {
  results: SweepPointResult[];
  /** Bytes of complete lines: a trailing partial line (a write cut short by a kill) starts here. */
  completeBytes: number;
  /** Whether the file ends in a partial line, which is ignored. */
  partialLine: boolean;
}

function isResult(v: unknown): v is SweepPointResult {
  return isPlainObject(v) && Number.isSafeInteger(v["index"]) && typeof v["seed"] === "number" && isPlainObject(v["params"]) && typeof v["status"] === "string";
}

/** The complete lines of a results.jsonl; a trailing line without its newline is left out. */
export function readResultsFile(path: string): ResultsFile {
  if (!existsSync(path)) return { results: [], completeBytes: 0, partialLine: false };
  const bytes = readFileSync(path);
  const end = bytes.lastIndexOf(0x0a) + 1;
  const text = bytes.subarray(0, end).toString("utf8");
  const results: SweepPointResult[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    let v: unknown;
    try {
      v = JSON.parse(line) as unknown;
    } catch {
      v = undefined;
    }
    if (!isResult(v)) throw new SweepInputError(`${path}:${i + 1}`, line, `line ${i + 1} is not a sweep result (${showValue(line)}); the file is damaged: remove it or the line`);
    results.push(v);
  });
  return { results, completeBytes: end, partialLine: end < bytes.length };
}

/**
 * One CSV cell. Text that a spreadsheet would read as a formula (starting with =, +, -, @,
 * a tab or a carriage return) gets a leading ' as OWASP's CSV-injection advice says;
 * numbers are written as numbers.
 */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  const text = typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : stableStringify(v);
  const safe = typeof v !== "number" && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_METRICS = ["stepSeconds", "tokensPerSecond", "tflopsPerGpu", "mfu", "memoryBytesPerGpu", "gpuPowerWatts"] as const;

/** One row per point: index, seed, the swept parameters, status, headline numbers, the breakdown, error. */
export function resultsCsv(results: readonly SweepPointResult[], params: readonly string[]): string {
  const head = ["index", "seed", ...params, "status", ...CSV_METRICS, ...CATEGORIES, "error"];
  const rows = results.map((r) => {
    const result = r.result as unknown as Record<string, unknown> | undefined;
    const breakdown = (result?.["breakdown"] ?? {}) as Record<string, unknown>;
    return [r.index, r.seed, ...params.map((p) => r.params[p]), r.status, ...CSV_METRICS.map((m) => result?.[m]), ...CATEGORIES.map((c) => (result === undefined ? undefined : breakdown[c])), r.error];
  });
  return [head, ...rows].map((row) => row.map(csvCell).join(",")).join("\n") + "\n";
}

export function sortResults(results: Iterable<SweepPointResult>): SweepPointResult[] {
  return [...results].sort((a, b) => a.index - b.index);
}

/**
 * results.jsonl (sorted by index), results.csv and sweep.json, each written atomically.
 * `lines` may hold results already serialised (by stableStringify), to save doing it twice.
 */
export function writeResultFiles(dir: string, results: readonly SweepPointResult[], manifest: SweepManifest, lines?: ReadonlyMap<number, string>): void {
  mkdirSync(dir, { recursive: true });
  const sorted = sortResults(results);
  writeAtomically(join(dir, RESULTS_JSONL), sorted.map((r) => (lines?.get(r.index) ?? stableStringify(r)) + "\n").join(""));
  writeAtomically(join(dir, RESULTS_CSV), resultsCsv(sorted, manifest.params));
  writeAtomically(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
}

// ---------------------------------------------------------------------------
// Shards

export interface Shard {
  index: number;
  count: number;
}

export function shardDir(outDir: string, shard: Shard): string {
  return join(outDir, `shard-${shard.index}-of-${shard.count}`);
}

/**
 * "3/8" → {index: 3, count: 8}. "auto/8" takes the index from SLURM_ARRAY_TASK_ID (less
 * SLURM_ARRAY_TASK_MIN, so --array=1-8 works too) or a Kubernetes indexed Job's
 * JOB_COMPLETION_INDEX.
 */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const flag = "--shard";
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new SweepInputError(flag, text, `${JSON.stringify(text)} is not allowed; expected i/n with 0 <= i < n (e.g. 0/8), or auto/n to read the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX`);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new SweepInputError(flag, text, `${JSON.stringify(text)} is not allowed; the shard count n must be an integer >= 1`);
  let index: number;
  let source = "";
  if (m[1] === "auto") {
    const slurm = env["SLURM_ARRAY_TASK_ID"];
    const k8s = env["JOB_COMPLETION_INDEX"];
    const raw = slurm ?? k8s;
    if (raw === undefined || raw.trim() === "") {
      throw new SweepInputError(flag, text, `auto needs SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes indexed Job), and neither is set; give the index yourself, e.g. --shard 0/${count}`);
    }
    const name = slurm !== undefined ? "SLURM_ARRAY_TASK_ID" : "JOB_COMPLETION_INDEX";
    const min = slurm !== undefined ? Number(env["SLURM_ARRAY_TASK_MIN"] ?? "0") : 0;
    index = Number(raw) - (Number.isSafeInteger(min) ? min : 0);
    source = ` (from ${name}=${raw}${slurm !== undefined && min !== 0 ? ` less SLURM_ARRAY_TASK_MIN=${min}` : ""})`;
    if (!/^\d+$/.test(raw.trim())) throw new SweepInputError(flag, text, `${name}=${JSON.stringify(raw)} is not a shard index; expected an integer >= 0`);
  } else index = Number(m[1]);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new SweepInputError(flag, text, `shard index ${index}${source} is not allowed; expected 0 <= i < ${count}`);
  }
  return { index, count };
}

// ---------------------------------------------------------------------------
// Progress

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A bar redrawn in place on a terminal; plain lines at every 10 % otherwise. Always stderr. */
class Progress {
  private done = 0;
  private readonly started = performance.now();
  private lastDraw = 0;
  private lastDecile = -1;

  constructor(
    private readonly out: ProgressStream | null,
    private readonly total: number,
    private readonly label: string,
  ) {}

  private text(bar: boolean): string {
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const eta = this.done === this.total ? `in ${formatDuration(elapsed)}` : rate > 0 ? `ETA ${formatDuration((this.total - this.done) / rate)}` : "ETA ?";
    const counts = `${this.done}/${this.total} points`;
    const rateText = rate > 0 ? `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s` : "";
    if (!bar) return `${this.label}${counts}${rateText ? `, ${rateText}` : ""}, ${eta}`;
    const width = 24;
    const filled = this.total === 0 ? width : Math.round((width * this.done) / this.total);
    return `${this.label}[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${counts}  ${rateText}  ${eta}`;
  }

  tick(): void {
    this.done++;
    if (this.out === null) return;
    if (this.out.isTTY === true) {
      const now = performance.now();
      if (this.done < this.total && now - this.lastDraw >= 100) {
        this.lastDraw = now;
        this.out.write(`\r${this.text(true)}\x1b[K`);
      }
      return;
    }
    const decile = this.total === 0 ? 10 : Math.floor((10 * this.done) / this.total);
    if (decile > this.lastDecile && this.done < this.total) {
      this.lastDecile = decile;
      this.out.write(`${this.text(false)}\n`);
    }
  }

  finish(): void {
    if (this.out === null || this.total === 0) return;
    if (this.out.isTTY === true) this.out.write(`\r${this.text(true)}\x1b[K\n`);
    else this.out.write(`${this.text(false)}\n`);
  }
}

// ---------------------------------------------------------------------------
// Worker threads

/** A thread running the worker: its bundle (evaluated as a script), or the tsx boot file. */
function startWorker(entry: WorkerEntry): Worker {
  return entry.kind === "bundle" ? new Worker(entry.code, { eval: true }) : new Worker(entry.url);
}

/** A worker's messages: a result comes as its results.jsonl line (stable JSON, serialised in the worker). */
export type FromWorker = { type: "ready" } | { type: "result"; line: string };

/**
 * Tasks each worker holds at once: the one it runs and the next, so it starts the next
 * point the moment it posts a result instead of idling until the main thread, which
 * competes with the workers for the cores, gets scheduled to answer.
 */
const TASKS_IN_FLIGHT = 2;

/**
 * Runs the points on `threads` worker threads, building each point's task only when it is
 * sent (the threads boot meanwhile); `onResult` sees each result's line as it finishes.
 */
function runOnWorkers(entry: WorkerEntry, points: readonly SweepPoint[], makeTask: (p: SweepPoint) => PointTask, threads: number, onResult: (line: string) => void): Promise<void> {
  return new Promise((resolvePool, rejectPool) => {
    let next = 0;
    // Tasks handed back by a thread that died while holding them (after the one it died on).
    const retry: PointTask[] = [];
    let alive = 0;
    let settled = false;
    const all = new Set<Worker>();
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      for (const w of all) void w.terminate();
      rejectPool(err);
    };
    const pending = (): boolean => retry.length > 0 || next < points.length;
    const take = (): PointTask | undefined => {
      if (settled) return undefined;
      const again = retry.shift();
      if (again !== undefined) return again;
      const point = next < points.length ? points[next++] : undefined;
      return point === undefined ? undefined : makeTask(point);
    };
    const start = (): void => {
      const worker = startWorker(entry);
      all.add(worker);
      alive++;
      let ready = false;
      // In the order sent; the worker answers them in that order.
      const inFlight: PointTask[] = [];
      const feed = (): void => {
        while (inFlight.length < TASKS_IN_FLIGHT) {
          const task = take();
          if (task === undefined) break;
          inFlight.push(task);
          worker.postMessage(task);
        }
        if (inFlight.length === 0) void worker.terminate();
      };
      worker.on("message", (m: FromWorker) => {
        if (settled) return;
        try {
          if (m.type === "ready") {
            ready = true;
            return;
          }
          inFlight.shift();
          onResult(m.line);
          feed();
        } catch (e) {
          fail(e);
        }
      });
      worker.on("error", (err) => {
        if (settled) return;
        if (!ready) {
          fail(new Error(`could not start a sweep worker thread: ${errorText(err)}`));
          return;
        }
        // The thread died on its oldest point (e.g. out of JS heap): record it, hand the
        // points queued behind it to a new thread, and carry on.
        const task = inFlight.shift();
        retry.unshift(...inFlight.splice(0));
        try {
          if (task !== undefined) {
            const died: SweepPointResult = { index: task.index, seed: task.seed, params: task.params, experiment: task.experiment, status: "failed", error: `worker thread died: ${errorText(err)}` };
            onResult(stableStringify(died));
          }
        } catch (e) {
          fail(e);
          return;
        }
        if (pending()) start();
      });
      worker.on("exit", () => {
        all.delete(worker);
        alive--;
        if (inFlight.length > 0 && !settled) {
          // Exited without an error event while holding points: should not happen, but never hang.
          fail(new Error(`a sweep worker thread exited while running point ${(inFlight[0] as PointTask).index}`));
          return;
        }
        if (alive === 0 && !settled) {
          settled = true;
          resolvePool();
        }
      });
      feed();
    };
    for (let i = 0; i < threads; i++) start();
  });
}

// ---------------------------------------------------------------------------
// The sweep

export interface SweepOptions {
  /** Output folder; a shard writes into `<outDir>/shard-<i>-of-<n>/`. */
  outDir: string;
  /** Worker threads (default: os.availableParallelism()). */
  workers?: number;
  /** Keep the points already in results.jsonl and run only the others. */
  resume?: boolean;
  /** Run only the points whose index % count == index. */
  shard?: Shard;
  /** Where progress goes (default process.stderr); null for none. */
  progress?: ProgressStream | null;
  /** sweep --uncertainty N: bands and sensitivity per point (result.uncertainty). */
  uncertaintySamples?: number;
}

export interface SweepSummary {
  experiment: string;
  /** The folder the files were written to (the shard's folder for a shard). */
  outDir: string;
  files: { jsonl: string; csv: string; manifest: string };
  /** Points in the whole experiment. */
  totalPoints: number;
  /** Points in this run's slice (all of them without a shard). */
  slicePoints: number;
  /** Points found finished in results.jsonl and skipped (resume). */
  skipped: number;
  /** Points run now. */
  ran: number;
  workers: number;
  ok: number;
  invalid: number;
  failed: number;
  shard: Shard | null;
  seconds: number;
  /** Every result of the slice, sorted by index. */
  results: SweepPointResult[];
}

function samePoint(a: SweepPoint, b: SweepPoint): boolean {
  return a.index === b.index && a.seed === b.seed && stableStringify(a.params) === stableStringify(b.params);
}

export async function runSweep(exp: Experiment, options: SweepOptions): Promise<SweepSummary> {
  const t0 = performance.now();
  const shard = options.shard ?? null;
  const dir = shard === null ? options.outDir : shardDir(options.outDir, shard);
  const progressOut = options.progress === undefined ? process.stderr : options.progress;
  const workers = options.workers ?? availableParallelism();
  if (!Number.isSafeInteger(workers) || workers < 1) throw new SweepInputError("--workers", workers, `${showValue(workers)} is not allowed; expected an integer >= 1`);

  const points = expandPoints(exp);
  const slice = shard === null ? points : points.filter((p) => p.index % shard.count === shard.index);
  const manifest = manifestFor(exp, points, shard);
  const jsonlPath = join(dir, RESULTS_JSONL);
  const csvPath = join(dir, RESULTS_CSV);
  const manifestPath = join(dir, MANIFEST);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new SweepInputError("--out", dir, `${JSON.stringify(dir)} is a file; expected a folder for the results`);

  // What is already done (resume).
  const done = new Map<number, SweepPointResult>();
  if (options.resume === true) {
    const old = readManifest(dir);
    if (old !== undefined && old.fingerprint !== manifest.fingerprint) {
      throw new SweepInputError(
        "--resume",
        dir,
        `${dir} holds results of a different or changed experiment (${old.experiment}, fingerprint ${old.fingerprint}; now ${manifest.fingerprint}); resume only an unchanged experiment, or choose another --out`,
      );
    }
    const file = readResultsFile(jsonlPath);
    if (file.partialLine) truncateSync(jsonlPath, file.completeBytes);
    const byIndex = new Map(slice.map((p) => [p.index, p]));
    for (const r of file.results) {
      const expected = byIndex.get(r.index);
      if (expected === undefined || !samePoint(expected, r)) {
        throw new SweepInputError("--resume", dir, `${jsonlPath} holds point ${r.index} with different parameters than the experiment; resume only an unchanged experiment, or choose another --out`);
      }
      const earlier = done.get(r.index);
      if (earlier !== undefined && stableStringify(earlier) !== stableStringify(r)) {
        throw new SweepInputError("--resume", dir, `${jsonlPath} holds point ${r.index} twice with different results; remove one of the lines`);
      }
      done.set(r.index, r);
    }
  }

  mkdirSync(dir, { recursive: true });
  writeAtomically(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  if (options.resume !== true) writeFileSync(jsonlPath, "");
  // Written again at the end; until then a stale table from an earlier run must not pass for this one.
  rmSync(csvPath, { force: true });

  const todo = slice.filter((p) => !done.has(p.index));
  const keepPowerSeries = exp.reports.includes("power");
  const uncertainty = options.uncertaintySamples !== undefined ? { uncertaintySamples: options.uncertaintySamples } : {};
  const makeTask = (p: SweepPoint): PointTask => ({ ...p, experiment: exp.name, scenario: pointScenario(exp, p), loadOptions: exp.loadOptions, keepPowerSeries, ...uncertainty });
  const threads = Math.max(1, Math.min(workers, todo.length));
  const fresh: SweepPointResult[] = [];
  const lines = new Map<number, string>();
  if (todo.length > 0) {
    const label = shard === null ? "" : `shard ${shard.index}/${shard.count}: `;
    const progress = new Progress(progressOut, todo.length, label);
    const fd = openSync(jsonlPath, "a");
    try {
      await runOnWorkers(await sweepWorkerEntry(), todo, makeTask, threads, (text) => {
        // One write of the whole line: a kill leaves whole lines (or, at worst, one partial last line that resume drops).
        const line = Buffer.from(text + "\n", "utf8");
        let written = 0;
        while (written < line.length) written += writeSync(fd, line, written, line.length - written);
        const r = JSON.parse(text) as SweepPointResult;
        lines.set(r.index, text);
        fresh.push(r);
        progress.tick();
      });
    } finally {
      closeSync(fd);
    }
    progress.finish();
  }

  const results = sortResults([...done.values(), ...fresh]);
  writeResultFiles(dir, results, manifest, lines);
  const count = (status: SweepPointResult["status"]): number => results.filter((r) => r.status === status).length;
  return {
    experiment: exp.name,
    outDir: dir,
    files: { jsonl: jsonlPath, csv: csvPath, manifest: manifestPath },
    totalPoints: points.length,
    slicePoints: slice.length,
    skipped: done.size,
    ran: fresh.length,
    workers: todo.length > 0 ? threads : 0,
    ok: count("ok"),
    invalid: count("invalid"),
    failed: count("failed"),
    shard,
    seconds: (performance.now() - t0) / 1000,
    results,
  };
}
