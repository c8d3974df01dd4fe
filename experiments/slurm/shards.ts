/**
 * What the shard folders of a sharded sweep hold: which shards are complete, which are
 * missing points, and which shard counts are present. `trainsim slurm --resume` reads this
 * to resubmit only the shards whose points are missing.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { experimentFingerprint, expandPoints, type Experiment } from "../experiment.ts";
import { RESULTS_JSONL, SweepInputError, readManifest, readResultsFile, shardDir } from "../runner.ts";

export interface ShardProgress {
  index: number;
  count: number;
  dir: string;
  /** Whether the shard folder exists with a manifest (the task started at some point). */
  started: boolean;
  /** Point indices this shard owns (index % count == shard index). */
  expected: number[];
  /** Owned indices with a complete line in the shard's results.jsonl. */
  done: number[];
  /** Owned indices without one. */
  missing: number[];
}

const SHARD_DIR = /^shard-(\d+)-of-(\d+)$/;

/** Shard counts n of the shard-<i>-of-<n>/ folders under `outDir`, ascending. */
export function shardCountsIn(outDir: string): number[] {
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) return [];
  const counts = new Set<number>();
  for (const name of readdirSync(outDir)) {
    const m = SHARD_DIR.exec(name);
    if (m !== null && statSync(join(outDir, name)).isDirectory()) counts.add(Number(m[2]));
  }
  return [...counts].sort((a, b) => a - b);
}

/**
 * The state of each of the `count` shards of `exp` under `outDir`. A shard folder that holds
 * results of another (or a changed) experiment is an error: resuming it would be refused by
 * the sweep too, and merging it would mix two experiments.
 */
export function shardProgress(exp: Experiment, outDir: string, count: number): ShardProgress[] {
  const points = expandPoints(exp);
  const fingerprint = experimentFingerprint(exp, points);
  const shards: ShardProgress[] = [];
  for (let index = 0; index < count; index++) {
    const dir = shardDir(outDir, { index, count });
    const expected = points.filter((p) => p.index % count === index).map((p) => p.index);
    const manifest = existsSync(dir) ? readManifest(dir) : undefined;
    if (manifest !== undefined && manifest.fingerprint !== fingerprint) {
      throw new SweepInputError(
        "--resume",
        dir,
        `${dir} holds results of a different or changed experiment (${manifest.experiment}, fingerprint ${manifest.fingerprint}; ${exp.name} is now ${fingerprint}); resume only an unchanged experiment, or give another --out`,
        "trainsim slurm",
      );
    }
    const present = new Set(manifest === undefined ? [] : readResultsFile(join(dir, RESULTS_JSONL)).results.map((r) => r.index));
    shards.push({
      index,
      count,
      dir,
      started: manifest !== undefined,
      expected,
      done: expected.filter((i) => present.has(i)),
      missing: expected.filter((i) => !present.has(i)),
    });
  }
  return shards;
}
