/**
 * FSDP2's per-parameter copies (models/step/fsdp-copies.ts): the all-gather copy-in and
 * copy-out and the reduce-scatter chunk_cat, by hand; absent with flat parameters; on the
 * compute stream they add their HBM time to the step.
 */
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { fsdpCopyKernels, perParameterCopyBytes } from "../../models/step/fsdp-copies.ts";
import { COLLECTIVE, compileStep, ENQUEUE, HBM, type Op, type StepProgram } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { memoryByStage } from "../../models/workload/memory.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";

const tiny = (plan: Partial<ParallelPlan>, gpu: Accelerator = IDEAL, globalBatch = 4): Scenario => {
  const s = scenario({ gpu, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch, gpuVariability: 0, plan: { zero: 3, dp: 4, ...plan } });
  // The shared helper passes only the keys it knows; the layout is set here.
  return plan.fsdpLayout === undefined ? s : { ...s, parallelism: { ...s.parallelism, fsdpLayout: plan.fsdpLayout } };
};

describe("FSDP2 copy bytes by hand", () => {
  // One Llama 3 8B block: q, o 4096², k, v 4096 × 1024, SwiGLU 3 × 4096 × 14336, two norms.
  const block = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096;
  it("a Llama 3 8B block over 8 ranks, fp32 shards gathered in bf16 and reduced in fp32", () => {
    expect(block).toBe(218_112_000);
    const b = perParameterCopyBytes(block, 8, 2, 4, 4);
    // Copy-in: 27,264,000 shard elements cast fp32 → bf16 (4 + 2) then copied into the output (2 + 2).
    expect(b.gatherIn).toBe(27_264_000 * 10);
    // Copy-out: the 436 MB gathered buffer read and written once.
    expect(b.gatherOut).toBe(872_448_000);
    // chunk_cat: bf16 gradients read (2), fp32 reduce-scatter input written (4).
    expect(b.reduceIn).toBe(1_308_672_000);
  });

  it("bf16 shards (no master copy) skip the cast; a bf16 reduction halves the chunk_cat's writes", () => {
    const b = perParameterCopyBytes(block, 8, 2, 2, 2);
    expect(b.gatherIn).toBe(27_264_000 * 4);
    expect(b.reduceIn).toBe(block * 4);
  });

  it("none with flat parameters (the default), or with one rank to shard over", () => {
    const none = { gatherIn: [], gatherOut: [], reduceIn: [] };
    expect(fsdpCopyKernels(tiny({}), 4, 1e6)).toEqual(none);
    expect(fsdpCopyKernels(tiny({ fsdpLayout: "flat" }), 4, 1e6)).toEqual(none);
    expect(fsdpCopyKernels(tiny({ fsdpLayout: "per-parameter" }), 1, 1e6)).toEqual(none);
    const k = fsdpCopyKernels(tiny({ fsdpLayout: "per-parameter", gradReduceDtype: "fp32" }), 4, 1e6);
    expect(k.gatherOut[0]?.bytes).toBe(4e6);
    expect(k.reduceIn[0]?.bytes).toBe(6e6);
    expect(k.gatherIn[0]?.bytes).toBe(2.5e5 * 10);
  });
});

/** Stage 0's data-parallel collectives over one step. */
function dpCollectives(prog: StepProgram): Op[] {
  const out: Op[] = [];
  for (const plan of [prog.forwardPlan[0], prog.lastBackwardPlan[0]])
    for (const op of prog.plans[plan as number] as Op[]) if (op.kind === ENQUEUE) for (const c of prog.dpLists[op.gradList] as Op[]) if (c.kind === COLLECTIVE) out.push(c);
  return out;
}

describe("FSDP traffic with an fp32 reduction", () => {
  it("two bf16 all-gathers and one fp32 reduce-scatter: (2·2 + 4) × P × (n−1)/n per GPU, the reduce-scatter's share doubled", () => {
    const s = tiny({ gradReduceDtype: "fp32" });
    const P = memoryByStage(s)[0]!.params;
    const ops = dpCollectives(compileStep(s));
    const bytes = (label: string): number => ops.filter((o) => o.label === label).reduce((a, o) => a + o.size, 0);
    expect(bytes("fsdp:gather") / (2 * 2 * P * (3 / 4)) - 1).toBeCloseTo(0, 12);
    expect(bytes("fsdp:grads") / (4 * P * (3 / 4)) - 1).toBeCloseTo(0, 12);
  });
});

describe("FSDP2 copies in the step", () => {
  // The ideal GPU with a finite HBM: links are free, so the copies are what differs.
  const hbm = 2e12;
  const gpu: Accelerator = { ...IDEAL, hbmBandwidth: hbm };

  it("flat parameters: the step is unchanged by the key", () => {
    expect(simulateStep(tiny({ fsdpLayout: "flat" }, gpu)).stepSeconds).toBe(simulateStep(tiny({}, gpu)).stepSeconds);
  });

  it("per-parameter: the step grows by the compute-stream copies' HBM time, at most plus the copy-in and the collectives' HBM traffic", () => {
    for (const m of [1, 3]) {
      const flat = tiny({ gradReduceDtype: "bf16" }, gpu, 4 * m);
      const per = tiny({ gradReduceDtype: "bf16", fsdpLayout: "per-parameter" }, gpu, 4 * m);
      const P = memoryByStage(flat)[0]!.params;
      // Per micro-batch every unit is gathered twice (forward, backward: copy-out 2 × 2 B each) and
      // its bf16 gradients chunk-catted once (2 + 2 B); copy-in on the gather stream: fp32 shard → bf16, then into the buffer.
      const serial = (m * P * (2 * 4 + 4)) / hbm;
      const copyIn = (m * 2 * (P / 4) * (4 + 2 + 4)) / hbm;
      // NCCL's own HBM reads and writes, hidden beside the GEMMs before, now share HBM with the copies.
      const ncclHbm = (m * dpCollectives(compileStep(flat)).reduce((a, op) => a + (op.amounts[op.roles.indexOf(HBM)] ?? 0), 0)) / hbm;
      const delta = simulateStep(per).stepSeconds - simulateStep(flat).stepSeconds;
      expect(delta / serial, `m ${m}`).toBeGreaterThan(1 - 1e-9);
      expect(delta, `m ${m}`).toBeLessThanOrEqual(serial + copyIn + ncclHbm + 1e-12);
    }
  });

  it("the published FSDP2 cases (torchtitan, KempnerForge) state the per-parameter layout", () => {
    for (const f of ["torchao-float8/h100-bf16.yaml", "kempnerforge2026/12-7b-32gpu-tp4-fsdp8.yaml"]) {
      expect(loadScenario(`experiments/published/${f}`).parallelism.fsdpLayout).toBe("per-parameter");
    }
  });
});
