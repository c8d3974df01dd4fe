import { describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import { METRICS, publishedCaseFiles } from "../../experiments/validate.ts";
import { workProblem } from "../../experiments/work-limits.ts";
import { outOfMemory } from "../../models/workload/memory.ts";
import { band, sampledRuns } from "../../models/uncertainty/analyse.ts";

// Issue 26's coverage floors on the `trainsim validate` cases, with the uncalibrated catalog's
// spreads (models/uncertainty/spreads.ts, never widened to reach a floor):
//  - the p5-p95 band of the published metric contains the published value for >= 80 % of the
//    cases: NOT MET. The spreads the sources support are a few per cent wide, while the model's
//    error on most cases is larger (validate's per-category medians are 5-15 %): the bands say
//    how sure the catalog's constants are, not how right the model is. The measured coverage is
//    asserted as a regression floor (docs/uncertainty.md has the figures).
//  - the band is no wider than +-15 % of the median for the dense BF16 cases: met.
// Each case takes SAMPLES Latin-hypercube samples (run --uncertainty's minimum, to keep this
// test to ~10 validate runs; a p5/p95 of 10 samples lies between the extreme draws).
const SAMPLES = 10;
const ISSUE_COVERAGE = 0.8;
/**
 * Measured with SAMPLES samples when this test was added (12 of 121 cases, on the physics of
 * commit 2c7f0e2); a drop is a regression. Physics changes move it either way: re-measure then.
 * Re-measured: 10 of 121 once the fms-fsdp cases took their source's network, eager layers and
 * foreach AdamW (fms-fsdp-70b, inside its band at +0.7 %, now -2.4 %) and H200 attention went to
 * the sustained clock (kempnerforge2026-06, +0.7 -> -1.3 %): both checked band by band.
 * Re-measured after the fidelity merges of that session (no case refused any more: 126 with a
 * step metric): 16 of 126.
 * Re-measured: 15 of 126 once forced-balance routing became random top-k routing as Megatron-LM runs
 * it (moe_utils.py apply_random_logits; models/workload/moe-routing.ts): modelzoo-qwen3-235b-gb200-bf16
 * went from -0.0 to -1.2 % and its band (696-743 against the published 750 TFLOP/s) no longer holds
 * it; every other case's inside/outside is unchanged (checked band by band).
 * Re-measured: 14 of 126 once memory-bound kernels stream at their class's measured share of STREAM
 * (norms, norm backwards, fused RoPE, gated activations, FP8 casts: models/hardware/catalog/
 * memory-kernels.ts). Checked band by band: four entered (kempnerforge2026-06, modelzoo-qwen3-235b-
 * gb200-mxfp8, modelzoo-qwen3-235b-h100-128k-forced-balance, narayanan2021-gpt-1t), five left (the
 * LayerNorm-heavy korthikanti2022 22b / 175b / 530b / 1t full-recompute rows, whose bands now start at
 * or just above the published step, 175b-full's p5 18.13 s against the published 18.13 s; and
 * modelzoo-qwen3-235b-h100-16k-forced-balance, p95 293.3 against 295 TFLOP/s).
 */
const MEASURED_COVERAGE = 14 / 126;
const STEP_METRICS = new Set(Object.keys(METRICS).filter((m) => m !== "unexpectedInterruptions" && m !== "goodput"));

interface CaseBand {
  name: string;
  published: number;
  p5: number;
  p50: number;
  p95: number;
  denseBf16: boolean;
}

function caseBands(): CaseBand[] {
  const out: CaseBand[] = [];
  for (const file of publishedCaseFiles()) {
    const s = loadScenario(file);
    const p = s.published;
    if (p === undefined || !STEP_METRICS.has(p.metric)) continue;
    // As validate: refused (memory) and over-limit cases are not scored.
    if (outOfMemory(s) !== null || workProblem(s) !== null) continue;
    const read = METRICS[p.metric]!.read;
    const b = band(sampledRuns(s, SAMPLES, "auto").map((r) => read(s, r)));
    out.push({ name: s.name, published: p.value, ...b, denseBf16: s.workload.precision === "bf16" && s.workload.model.experts <= 1 });
  }
  return out;
}

describe("uncertainty bands on the validate cases (issue 26 floors)", () => {
  it(
    "coverage of the published values by the p5-p95 band, and the width of the dense BF16 bands",
    () => {
      const bands = caseBands();
      expect(bands.length).toBeGreaterThan(100);
      const inside = bands.filter((b) => b.p5 <= b.published && b.published <= b.p95);
      const coverage = inside.length / bands.length;
      console.log(`uncertainty coverage: ${inside.length} of ${bands.length} cases (${(coverage * 100).toFixed(1)} %; issue floor ${ISSUE_COVERAGE * 100} %, not met)`);
      expect(coverage).toBeGreaterThanOrEqual(MEASURED_COVERAGE);
      const dense = bands.filter((b) => b.denseBf16);
      expect(dense.length).toBeGreaterThan(50);
      const widest = Math.max(...dense.map((b) => Math.max(b.p95 / b.p50 - 1, 1 - b.p5 / b.p50)));
      console.log(`dense BF16 cases: ${dense.length}, widest band +-${(widest * 100).toFixed(1)} % of its median`);
      const wide = dense.filter((b) => b.p95 > 1.15 * b.p50 || b.p5 < 0.85 * b.p50).map((b) => b.name);
      expect(wide).toEqual([]);
    },
    1_800_000,
  );
});
