/**
 * Loading configs and the bundled many-job cluster experiment: what the tests used to time
 * with wall-clock bounds (1,500 fuzzed loads in 5 s; three placements of 1,000 jobs in 60 s).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadClusterFile } from "../experiments/cluster-load.ts";
import { loadScenario } from "../experiments/load.ts";
import { runClusterExperiment } from "../models/cluster/simulate.ts";
import { measure, type BenchResult } from "./harness.ts";

/** Every published case's scenario file (bases excluded), loaded and normalised. */
export function loadPublished(): BenchResult {
  const root = "experiments/published";
  const files = readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".yaml") && !f.split("/").pop()?.startsWith("_"))
    .map((f) => join(root, f))
    .sort();
  return measure("load: every published case (YAML → normalised scenario)", () => {
    const t0 = process.hrtime.bigint();
    for (const f of files) loadScenario(f);
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, count: files.length, unit: "loads" };
  });
}

/** experiments/clusters/placement-1000-jobs.yaml: 1,000 jobs on 4,096 GPUs under three placement policies. */
export function placement1000Jobs(): BenchResult {
  const config = loadClusterFile("experiments/clusters/placement-1000-jobs.yaml");
  return measure("cluster: 1,000 jobs on 4,096 GPUs, three placements", () => {
    const t0 = process.hrtime.bigint();
    const result = runClusterExperiment(config);
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, count: result.runs.length * 1000, unit: "jobs" };
  });
}
