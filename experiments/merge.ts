/**
 * `trainsim merge`: join the outputs of a sharded sweep into one result set.
 *
 * Inputs are shard folders (holding results.jsonl and sweep.json), results.jsonl files, or
 * a folder whose shard-<i>-of-<n>/ subfolders are taken. Results are sorted by index; a
 * point found twice must be byte-identical in both places (otherwise the shards come from
 * different experiments or trainsim versions, and merging is refused). Points missing
 * from the set are listed, by shard when the manifests tell which shard owns them, and
 * the merge fails unless `allowPartial` is set: a partial set is never produced silently.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { stableStringify } from "./experiment.ts";
import { MANIFEST, RESULTS_JSONL, SweepInputError, readManifest, readResultsFile, sortResults, writeResultFiles, type SweepManifest } from "./runner.ts";
import type { SweepPointResult } from "../models/results.ts";
import { terminalText } from "../reports/format.ts";

/** Some points are missing: the CLI exits 1 and prints this message (which lists them). */
export class IncompleteMergeError extends Error {
  readonly missing: number[];
  constructor(message: string, missing: number[]) {
    super(message);
    this.name = "IncompleteMergeError";
    this.missing = missing;
  }
}

export interface MergeOptions {
  /** Write what is there even if points are missing (the manifest then lists them under `missing`). */
  allowPartial?: boolean;
  /** Warnings (ignored partial lines, partial merges); default: stderr. */
  warn?: (line: string) => void;
}

export interface MergeReport {
  outDir: string;
  experiment: string;
  /** Points in the experiment, when the manifests say; otherwise the highest index seen + 1. */
  totalPoints: number;
  results: SweepPointResult[];
  missing: number[];
  /** Missing indices per shard index, when every input came from a shard of the same count. */
  missingByShard?: Record<number, number[]>;
  inputs: string[];
}

interface Input {
  /** Shown in messages. */
  name: string;
  jsonl: string;
  manifest: SweepManifest | undefined;
}

const SHARD_DIR = /^shard-(\d+)-of-(\d+)$/;

function collectInputs(paths: readonly string[]): Input[] {
  const inputs: Input[] = [];
  const add = (dir: string, jsonl: string, name: string): void => {
    inputs.push({ name, jsonl, manifest: readManifest(dir) });
  };
  for (const path of paths) {
    if (!existsSync(path)) throw new SweepInputError("merge", path, `${JSON.stringify(path)} does not exist; expected a shard folder (with ${RESULTS_JSONL}) or a ${RESULTS_JSONL} file`, "trainsim merge");
    if (statSync(path).isFile()) {
      add(dirname(path), path, path);
      continue;
    }
    // A folder with shard subfolders stands for its shards (even if it also holds an earlier merge).
    const shards = readdirSync(path)
      .filter((n) => SHARD_DIR.test(n) && existsSync(join(path, n, RESULTS_JSONL)))
      .sort((a, b) => Number(SHARD_DIR.exec(a)?.[1]) - Number(SHARD_DIR.exec(b)?.[1]));
    if (shards.length === 0) {
      if (existsSync(join(path, RESULTS_JSONL))) {
        add(path, join(path, RESULTS_JSONL), path);
        continue;
      }
      throw new SweepInputError("merge", path, `${JSON.stringify(path)} holds neither ${RESULTS_JSONL} nor shard-<i>-of-<n>/ folders; expected the --out folder of a sweep or of a shard`, "trainsim merge");
    }
    for (const s of shards) add(join(path, s), join(path, s, RESULTS_JSONL), join(path, s));
  }
  return inputs;
}

function list(indices: readonly number[], max = 20): string {
  const shown = indices.slice(0, max).join(", ");
  return indices.length > max ? `${shown}, ... (${indices.length} in all)` : shown;
}

export function merge(inputs: string[], out: string, options: MergeOptions = {}): MergeReport {
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${terminalText(line)}\n`));
  if (inputs.length === 0) throw new SweepInputError("merge", inputs, "no inputs given; expected shard folders or results.jsonl files", "trainsim merge");
  const sources = collectInputs(inputs);

  // Every input must come from the same experiment.
  const withManifest = sources.filter((s) => s.manifest !== undefined);
  const first = withManifest[0]?.manifest;
  for (const s of withManifest) {
    const m = s.manifest as SweepManifest;
    if (first !== undefined && (m.fingerprint !== first.fingerprint || m.points !== first.points)) {
      throw new SweepInputError(
        "merge",
        s.name,
        `${s.name} comes from a different experiment than ${withManifest[0]?.name} (${m.experiment} ${m.fingerprint} vs ${first.experiment} ${first.fingerprint}); merge only shards of one sweep`,
        "trainsim merge",
      );
    }
  }

  const byIndex = new Map<number, { result: SweepPointResult; text: string; from: string }>();
  for (const s of sources) {
    const file = readResultsFile(s.jsonl);
    if (file.partialLine) warn(`merge: ${s.jsonl} ends in a partial line (a run killed mid-write); it is ignored`);
    for (const r of file.results) {
      const text = stableStringify(r);
      const earlier = byIndex.get(r.index);
      if (earlier === undefined) byIndex.set(r.index, { result: r, text, from: s.name });
      else if (earlier.text !== text) {
        throw new SweepInputError(
          "merge",
          r.index,
          `point ${r.index} appears in ${earlier.from} and ${s.name} with different contents; the inputs come from different runs of a changed experiment (or trainsim version): merge only shards of one sweep`,
          "trainsim merge",
        );
      }
    }
  }
  const results = sortResults([...byIndex.values()].map((e) => e.result));
  const experiment = first?.experiment ?? results[0]?.experiment ?? basename(out);
  const highest = results.length === 0 ? -1 : (results[results.length - 1] as SweepPointResult).index;
  const total = first?.points ?? highest + 1;
  for (const r of results) {
    if (r.index >= total) throw new SweepInputError("merge", r.index, `point ${r.index} lies beyond the experiment's ${total} points; the inputs do not belong together`, "trainsim merge");
  }
  const missing: number[] = [];
  for (let i = 0; i < total; i++) if (!byIndex.has(i)) missing.push(i);

  // Which shard owns each missing point, when every manifest names a shard of the same count.
  const counts = new Set(withManifest.map((s) => s.manifest?.shard?.count ?? 0));
  const shardCount = withManifest.length === sources.length && counts.size === 1 ? [...counts][0] ?? 0 : 0;
  let missingByShard: Record<number, number[]> | undefined;
  const lines: string[] = [];
  if (missing.length > 0) {
    if (shardCount > 0) {
      missingByShard = {};
      for (const i of missing) (missingByShard[i % shardCount] ??= []).push(i);
      const given = new Map(sources.map((s) => [s.manifest?.shard?.index ?? -1, s.name]));
      for (const [shard, indices] of Object.entries(missingByShard)) {
        const from = given.get(Number(shard));
        const where = from === undefined ? "not among the inputs" : `${from} is incomplete`;
        lines.push(`  shard ${shard}/${shardCount} (${where}): ${indices.length} point${indices.length === 1 ? "" : "s"}: ${list(indices)}`);
      }
    } else {
      lines.push(`  indices ${list(missing, 50)}`);
    }
    if (first === undefined) lines.push(`  (no ${MANIFEST} among the inputs, so points after index ${highest} cannot be checked)`);
  }

  if (missing.length > 0 && options.allowPartial !== true) {
    throw new IncompleteMergeError(
      [
        `merge: ${missing.length} of ${total} points are missing:`,
        ...lines,
        "Run the missing shards (or rerun incomplete ones with --resume), then merge again; --allow-partial merges what is there.",
      ].join("\n"),
      missing,
    );
  }
  if (missing.length > 0) warn([`merge: writing a partial set: ${missing.length} of ${total} points are missing:`, ...lines].join("\n"));

  const manifest: SweepManifest = first !== undefined
    ? { ...first, shard: null }
    : { format: "trainsim-sweep/1", experiment, fingerprint: "unknown", points: total, params: paramsOf(results), reports: [], shard: null };
  if (missing.length > 0) manifest.missing = missing;
  else delete manifest.missing;
  writeResultFiles(out, results, manifest);
  return { outDir: out, experiment, totalPoints: total, results, missing, ...(missingByShard !== undefined ? { missingByShard } : {}), inputs: sources.map((s) => s.name) };
}

/** Parameter columns when no manifest says: first appearance over the sorted results. */
function paramsOf(results: readonly SweepPointResult[]): string[] {
  const names: string[] = [];
  for (const r of results) for (const k of Object.keys(r.params)) if (!names.includes(k)) names.push(k);
  return names;
}
