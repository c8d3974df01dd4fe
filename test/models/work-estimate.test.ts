// Issue 24, "Huge or degenerate work": the work estimate made before simulating, and the refusal
// of what cannot finish. Limits are given explicitly, so nothing here depends on this machine.
import { describe, expect, it } from "vitest";
import { estimateWork } from "../../models/work-estimate.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { workProblem, type WorkLimits } from "../../experiments/work-limits.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import type { ModelSpec, ReliabilitySpec } from "../../models/scenario.ts";
import { LLAMA3_FAILURE_RATES } from "../../models/reliability/failure-rates.ts";
import { scenario } from "../helpers/scenario.ts";

const LIMITS: WorkLimits = { events: 2.5e8, bytes: 4e9, bytesFrom: "test" };
const llama8b = BUILTIN_MODELS["llama3-8b"] as ModelSpec;

// 64 GPUs: tp 2, pp 4, dp 8; 64 sequences of micro-batch 1: 8 micro-batches per replica.
const small = scenario({ nodes: 8, model: "llama3-8b", seqLength: 2048, globalBatch: 64, plan: { tp: 2, pp: 4, dp: 8, microBatch: 1 } });

describe("work estimate", () => {
  it("counts passes, probe GPUs and layers as documented (hand-computed)", () => {
    const folded = estimateWork(small, "folded");
    // Probe: 40 × (64 cluster GPUs + 16 in a stage); step: 16 × (4 stages × 2 × 8 micro-batches × 1 chunk);
    // layers: 14 × (4 ranks × 1 chunk × 8 layers per chunk).
    expect(folded.terms.map((t) => t.events)).toEqual([40 * 80, 16 * 64, 14 * 32]);
    expect(folded.events).toBe(3200 + 1024 + 448);
    // Recording spans (a report) adds 6 activities × 32 bytes per pass, nothing else.
    expect(estimateWork(small, "folded", true).bytes - folded.bytes).toBe(64 * 6 * 32);
    const full = estimateWork(small, "full");
    // Full: 5 events per pass on 64 ranks.
    expect(full.terms.map((t) => t.events)).toEqual([40 * 80, 5 * 64 * 16, 14 * 64 * 8]);
  });

  it("is within a factor of 3 of the events the engine really fires (folded and full)", () => {
    for (const mode of ["folded", "full"] as const) {
      const real = simulateStep(small, { mode }).events;
      const step = estimateWork(small, mode).terms.filter((t) => t.name !== "fabric probe").reduce((a, t) => a + t.events, 0);
      expect(step / real, mode).toBeGreaterThan(1 / 3);
      expect(step / real, mode).toBeLessThan(3);
    }
  });

  it("lets normal jobs through, and --full on 102,400 GPUs (works: 77 s, 529 MB)", () => {
    expect(workProblem(small, "full", LIMITS)).toBeNull();
    const llama405b = BUILTIN_MODELS["llama3-405b"] as ModelSpec;
    const big = scenario({ nodes: 12800, model: llama405b, seqLength: 8192, globalBatch: 12800, plan: { tp: 8, pp: 16, dp: 800, microBatch: 1, virtualStages: 2, firstStageLayers: 3, lastStageLayers: 3 } });
    const w = estimateWork(big, "full");
    expect(w.bytes).toBeGreaterThan(0.3e9); // measured 529 MB: the estimate is not far below
    expect(workProblem(big, "full", LIMITS)).toBeNull();
  });

  const refusals: [string, ReturnType<typeof scenario>, string][] = [
    ["1 M GPUs folded", scenario({ nodes: 131072, model: "llama3-8b", seqLength: 8192, globalBatch: 524288, plan: { tp: 8, dp: 131072 } }), "cluster.nodes × cluster.gpusPerNode: 1.05e6 GPUs"],
    ["8 M GPUs", scenario({ nodes: 1048576, model: "llama3-8b", seqLength: 8192, globalBatch: 4194304, plan: { tp: 8, dp: 1048576 } }), "cluster.nodes × cluster.gpusPerNode: 8.39e6 GPUs"],
    ["8e8 GPUs", scenario({ nodes: 1e8, model: "llama3-8b", seqLength: 8192, globalBatch: 4e8, plan: { tp: 8, dp: 1e8 } }), "8.00e8 GPUs"],
    ["1e8 micro-batches", scenario({ nodes: 8, model: "llama3-8b", seqLength: 8192, globalBatch: 8e8, plan: { tp: 2, pp: 4, dp: 8 } }), "1.00e8 micro-batches"],
    ["1e6 layers (measured: past 4.2 GB and 300 s)", scenario({ nodes: 8, model: { ...llama8b, layers: 1e6 }, seqLength: 8192, globalBatch: 64, plan: { tp: 2, dp: 32 } }), "workload.model.layers: 1.00e6 layers"],
    ["1e9 layers", scenario({ nodes: 8, model: { ...llama8b, layers: 1e9 }, seqLength: 8192, globalBatch: 64, plan: { tp: 2, dp: 32 } }), "workload.model.layers: 1.00e9 layers"],
  ];
  for (const [what, s, field] of refusals) {
    it(`refuses ${what}, naming the keys, the estimate and the limit`, () => {
      const problem = workProblem(s, "auto", LIMITS);
      expect(problem).toContain("too much work to simulate: about ");
      expect(problem).toContain(field);
      expect(problem).toMatch(/\(limit (2\.50e8|4\.0 GB, test)\)/);
    });
  }
});

describe("long runs", () => {
  const withFailures = (run: Record<string, number>) => {
    const base = scenario({ nodes: 8, model: "llama3-8b", seqLength: 8192, globalBatch: 512, plan: { tp: 2, dp: 32 } });
    // The Llama 3 405B failure rates (the loader's defaults), a checkpoint every 30 min.
    const reliability: ReliabilitySpec = { checkpointInterval: 1800, checkpointMode: "sync", nodeStorageBandwidth: 100e9, detectionTime: 60, restartTime: 600, spareNodes: 4, repairTime: 86400, failures: LLAMA3_FAILURE_RATES };
    return { ...base, run: { steps: 1, ...run }, reliability };
  };

  it("a run.tokens target no step can reach within ten years is refused, naming run.tokens", () => {
    // 1e18 tokens of 4M per step: 2.4e11 steps; at the ideal step (~0.6 s) far more than 3650 d.
    expect(workProblem(withFailures({ tokens: 1e18 }), "auto", LIMITS)).toMatch(/^run\.tokens: 1\.00e18 takes at least .* d even with every GPU at its dense peak; expected a run of at most 3650 d/);
    expect(workProblem(withFailures({ tokens: 1e12 }), "auto", LIMITS)).toBeNull();
  });

  it("counts failures and checkpoints over run.duration", () => {
    const year = estimateWork(withFailures({ duration: 365 * 86400 }), "folded").terms.find((t) => t.name === "long run")!;
    const decade = estimateWork(withFailures({ duration: 3650 * 86400 }), "folded").terms.find((t) => t.name === "long run")!;
    expect(year.fields).toBe("run.duration");
    expect(decade.events / year.events).toBeCloseTo(10, 9);
  });
});
