/**
 * The report of finished results: a sweep folder or its results.jsonl, a run's
 * result.json, or the JSON of `trainsim validate --json`. What the file holds
 * decides which report (`trainsim report`, and the report a sweep draws at its end).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { SweepPointResult, ValidationRow } from "../models/results.ts";
import type { RunResult } from "../models/run.ts";
import { buildRunReport, buildSweepReport, buildValidationReport } from "./build.ts";
import type { MissingPoints } from "./missing.ts";

export { missingText, type MissingPoints } from "./missing.ts";

export type DetectedResults =
  | { kind: "sweep"; file: string; results: SweepPointResult[]; experiment: string; description?: string; reports?: string[]; missing?: MissingPoints }
  | { kind: "run"; file: string; result: RunResult }
  | { kind: "validation"; file: string; rows: ValidationRow[] };

/** Thrown for input the report command cannot use; the message says what to pass instead. */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReportInputError";
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isRunResult(v: unknown): v is RunResult {
  return isObject(v) && typeof v["stepSeconds"] === "number" && isObject(v["breakdown"]) && typeof v["gpus"] === "number" && isObject(v["memory"]) && isObject(v["roofline"]);
}

function isSweepPoint(v: unknown): v is SweepPointResult {
  return isObject(v) && Number.isSafeInteger(v["index"]) && typeof v["seed"] === "number" && isObject(v["params"]) && typeof v["status"] === "string";
}

function isValidationRow(v: unknown): v is ValidationRow {
  return isObject(v) && typeof v["name"] === "string" && typeof v["metric"] === "string" && typeof v["published"] === "number" && typeof v["predicted"] === "number";
}

interface ManifestFields {
  experiment?: string;
  description?: string;
  reports?: string[];
  /** Points in the whole experiment. */
  points?: number;
  shard?: { index: number; count: number };
}

/** sweep.json next to results.jsonl: the experiment's name, description, reports, point count and shard (read as plain JSON). */
function readManifest(dir: string): ManifestFields {
  const path = join(dir, "sweep.json");
  if (!existsSync(path)) return {};
  try {
    const m = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (!isObject(m)) return {};
    return {
      ...(typeof m["experiment"] === "string" ? { experiment: m["experiment"] } : {}),
      ...(typeof m["description"] === "string" ? { description: m["description"] } : {}),
      ...(Array.isArray(m["reports"]) ? { reports: m["reports"].filter((x): x is string => typeof x === "string") } : {}),
      ...(Number.isSafeInteger(m["points"]) && (m["points"] as number) >= 0 ? { points: m["points"] as number } : {}),
      ...(isObject(m["shard"]) && Number.isSafeInteger(m["shard"]["index"]) && Number.isSafeInteger(m["shard"]["count"]) && (m["shard"]["count"] as number) > 0
        ? { shard: { index: m["shard"]["index"] as number, count: m["shard"]["count"] as number } }
        : {}),
    };
  } catch {
    return {};
  }
}

/** Work out what `path` holds. Throws ReportInputError with a hint when it is none of the known kinds. */
export function detectResults(path: string): DetectedResults {
  if (!existsSync(path)) throw new ReportInputError(`${path}: no such file or folder; pass a sweep folder, its results.jsonl, or a run's result.json`);
  let file = path;
  if (statSync(path).isDirectory()) {
    const candidates = ["results.jsonl", "result.json"].map((f) => join(path, f)).filter((f) => existsSync(f));
    if (candidates.length === 0) {
      const shards = readdirSync(path).filter((f) => /^shard-\d+-of-\d+$/.test(f));
      if (shards.length > 0) throw new ReportInputError(`${path} holds sweep shards (${shards.slice(0, 3).join(", ")}${shards.length > 3 ? ", ..." : ""}) but no merged results.jsonl; run \`trainsim merge ${path}\` first, or pass one shard's folder`);
      throw new ReportInputError(`${path} holds neither results.jsonl (a sweep) nor result.json (a run)`);
    }
    file = candidates[0] as string;
  }
  const text = readFileSync(file, "utf8");
  let whole: unknown;
  try {
    whole = JSON.parse(text) as unknown;
  } catch {
    whole = undefined;
  }
  if (whole !== undefined) {
    if (isRunResult(whole)) return { kind: "run", file, result: whole };
    if (isObject(whole) && Array.isArray(whole["rows"]) && whole["rows"].length > 0 && whole["rows"].every(isValidationRow)) return { kind: "validation", file, rows: whole["rows"] };
    if (Array.isArray(whole) && whole.length > 0 && whole.every(isValidationRow)) return { kind: "validation", file, rows: whole };
    if (Array.isArray(whole) && whole.length > 0 && whole.every(isSweepPoint)) return sweepOf(file, whole);
    if (isSweepPoint(whole)) return sweepOf(file, [whole]);
    throw new ReportInputError(`${file}: this JSON is not a run result (result.json of \`trainsim run --out\`), sweep results, or \`trainsim validate --json\` output`);
  }
  // JSON Lines: one sweep point per line; a trailing partial line (a sweep still running or killed) is skipped.
  const lines = text.split("\n");
  const complete = text.endsWith("\n") ? lines : lines.slice(0, -1);
  const results: SweepPointResult[] = [];
  complete.forEach((line, i) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(line) as unknown;
    } catch {
      throw new ReportInputError(`${file}:${i + 1}: line ${i + 1} is not JSON; expected one sweep result per line (results.jsonl)`);
    }
    if (!isSweepPoint(v)) throw new ReportInputError(`${file}:${i + 1}: line ${i + 1} is not a sweep result (needs index, seed, params, status)`);
    results.push(v);
  });
  if (results.length === 0) throw new ReportInputError(`${file}: holds no complete results yet`);
  return sweepOf(file, results);
}

/** The points sweep.json expects here that `results` lack; undefined when none are (or nothing says how many). */
function missingPoints(m: ManifestFields, results: readonly SweepPointResult[]): MissingPoints | undefined {
  if (m.points === undefined) return undefined;
  const have = new Set(results.map((r) => r.index));
  const indices: number[] = [];
  let expected = 0;
  for (let i = 0; i < m.points; i++) {
    if (m.shard !== undefined && i % m.shard.count !== m.shard.index) continue;
    expected++;
    if (!have.has(i)) indices.push(i);
  }
  return indices.length === 0 ? undefined : { expected, indices };
}

function sweepOf(file: string, results: SweepPointResult[]): DetectedResults {
  const m = readManifest(dirname(file));
  const experiment = m.experiment ?? results[0]?.experiment ?? "sweep";
  const missing = missingPoints(m, results);
  return {
    kind: "sweep",
    file,
    results,
    experiment,
    ...(m.description === undefined ? {} : { description: m.description }),
    ...(m.reports === undefined ? {} : { reports: m.reports }),
    ...(missing === undefined ? {} : { missing }),
  };
}

/** Build the report of whatever `path` holds into `outDir` (default: the folder of the results). Returns the files written. */
export async function reportFromResults(path: string, outDir?: string): Promise<{ kind: DetectedResults["kind"]; outDir: string; files: string[]; missing?: MissingPoints; file: string }> {
  const found = detectResults(path);
  const out = outDir ?? dirname(found.file);
  const source = relative(process.cwd(), found.file) || found.file;
  let files: string[];
  switch (found.kind) {
    case "sweep":
      files = await buildSweepReport(out, {
        experiment: found.experiment,
        results: found.results,
        ...(found.reports === undefined ? {} : { reports: found.reports }),
        ...(found.description === undefined ? {} : { description: found.description }),
        ...(found.missing === undefined ? {} : { missing: found.missing }),
        source,
      });
      break;
    case "run":
      files = await buildRunReport(out, { scenarioName: found.result.name, result: found.result, source });
      break;
    case "validation":
      files = await buildValidationReport(out, found.rows);
      break;
  }
  return { kind: found.kind, outDir: out, files, file: found.file, ...(found.kind === "sweep" && found.missing !== undefined ? { missing: found.missing } : {}) };
}
