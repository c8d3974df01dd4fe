// Issue 24, "Huge or degenerate work", for cluster files: the estimate of a cluster file's work
// (models/cluster/work-estimate.ts) against hand-computed values, and the refusal of what
// cannot finish. Limits are given explicitly, so nothing here depends on this machine.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { clusterConfigFromObject, loadClusterFile } from "../../experiments/cluster-load.ts";
import { ConfigError } from "../../experiments/errors.ts";
import { clusterWorkProblem, type WorkLimits } from "../../experiments/work-limits.ts";
import { estimateClusterWork } from "../../models/cluster/work-estimate.ts";

const ROOT = join(import.meta.dirname, "../..");
const OPTS = { baseDir: join(ROOT, "test/fixtures/cluster"), file: "c.yaml" };
const LIMITS: WorkLimits = { events: 2.5e8, bytes: 4e9, bytesFrom: "test" };

/** 4 DGX H100 nodes (32 GPUs) and a synthetic trace of `jobs` jobs of 1 or 8 GPUs (mean 4.5). */
function synthetic(jobs: number, extra: Record<string, unknown> = {}) {
  return clusterConfigFromObject(
    {
      name: "est",
      cluster: { gpu: "H100-SXM", nodes: 4 },
      synthetic: { jobs, arrivalsPerHour: 10, gpus: { 1: 1, 8: 1 }, duration: { distribution: "fixed", value: "1 h" } },
      ...extra,
    },
    OPTS,
  );
}

describe("cluster work estimate", () => {
  it("counts the fabric, the jobs, contention and the backfill scan as documented (hand-computed)", () => {
    // Backfill, two runs (compare over placement), 1,000 jobs, 32 GPUs; busy = min(32, 1,000 × 4.5) = 32.
    const w = estimateClusterWork(synthetic(1000, { scheduler: { policy: "backfill" }, compare: ["packed", "spread"] }));
    expect(w.terms.map((t) => t.name)).toEqual(["fabric", "jobs", "contention", "backfill scan"]);
    expect(w.terms.map((t) => t.events)).toEqual([
      2 * 32 * 40, // 40 per GPU per run
      2 * 1000 * 15, // 15 per job per run
      2 * 1000 * 2 * 32 * 1, // 2 updates per job, 1 per running GPU
      2 * 1000 * 1000 * 0.002, // jobs² × 0.002
    ]);
    expect(w.events).toBeCloseTo(2560 + 30_000 + 128_000 + 4000, 6);
    // 80 MB base, 2,616 B per GPU (once), 16 kB per job per run.
    expect(w.bytes).toBe(80e6 + 32 * 2616 + 2 * 1000 * 16_000);
    expect(w.terms[2]?.count).toBe("1,000 jobs × 32 GPUs × 2 runs (compare)");
  });

  it("counts GPUs running at once as at most every job's GPUs; no scan without backfill", () => {
    // fifo, one run, 3 jobs of mean 4.5 GPUs on 32 GPUs: 13.5 GPUs at most.
    const w = estimateClusterWork(synthetic(3));
    expect(w.terms.map((t) => t.name)).toEqual(["fabric", "jobs", "contention"]);
    expect(w.terms[2]?.events).toBe(3 * 2 * 13.5);
  });

  it("names a job list as jobs and a trace as its rows", () => {
    const listed = estimateClusterWork(loadClusterFile(join(ROOT, "test/fixtures/cluster/two-jobs.yaml")));
    expect(listed.terms[1]?.fields).toBe("jobs × compare"); // two-jobs.yaml compares placements
    const trace = estimateClusterWork(clusterConfigFromObject({ cluster: { gpu: "H100-SXM", nodes: 1 }, trace: { csv: "helios-sample.csv", format: "helios" } }, OPTS));
    expect(trace.terms[1]?.fields).toBe("trace (its rows, or trace.limit)");
  });

  it("lets the bundled cluster files through", () => {
    for (const f of ["placement-1000-jobs.yaml", "power-aware-admission.yaml"]) {
      expect(clusterWorkProblem(loadClusterFile(join(ROOT, "experiments/clusters", f)), LIMITS), f).toBeNull();
    }
  });

  it("refuses a million jobs, naming synthetic.jobs, the estimate, the limit and what to change", () => {
    const problem = clusterWorkProblem(synthetic(1e6, { scheduler: { policy: "backfill" } }), LIMITS);
    // Scan 1e12 × 0.002 = 2e9, contention 1e6 × 2 × 32 = 6.4e7, jobs 1.5e7: 2.08e9 events;
    // memory 80 MB + 1e6 × 16 kB = 16.1 GB.
    expect(problem).toContain("too much work to simulate: about 2.08e9 engine events (limit 2.50e8) and 16.1 GB of memory (limit 4.0 GB, test)");
    expect(problem).toContain("synthetic.jobs² (scheduler.policy: backfill): 1.00e6² jobs");
    expect(problem).toContain("synthetic.jobs: 1.00e6 jobs");
    expect(problem).toContain("expected fewer synthetic.jobs or a smaller cluster; see docs/limits.md");
  });

  it("refuses synthetic.jobs above 10,000,000 at load", () => {
    expect(() => synthetic(1e8)).toThrow(ConfigError);
    expect(() => synthetic(1e8)).toThrow("synthetic.jobs: 100000000 is not allowed; expected an integer from 1 to 10000000");
  });
});
