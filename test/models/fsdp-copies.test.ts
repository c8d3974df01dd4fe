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
    const none = { gatherIn: [], gatherOut: [], reduceIn: [], accumulate: [] };
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

/** Stage 0's data-parallel collectives over one step, walking its schedule (each pass's enqueued lists). */
function stepCollectives(prog: StepProgram): Op[] {
  const out: Op[] = [];
  const kinds = prog.schedKind[0] as Uint8Array;
  for (let i = 0; i < kinds.length; i++) {
    const plan = kinds[i] === 0 ? prog.forwardPlan[0] : (prog.schedLastBackward[0] as Uint8Array)[i] === 1 ? prog.lastBackwardPlan[0] : prog.backwardPlan[0];
    for (const op of prog.plans[plan as number] as Op[]) if (op.kind === ENQUEUE) for (const c of prog.dpLists[op.gradList] as Op[]) if (c.kind === COLLECTIVE) out.push(c);
  }
  return out;
}

describe("FSDP gradient sync on the last micro-batch only (fsdpGradSync last-micro-batch)", () => {
  const noSync = (s: Scenario): Scenario => ({ ...s, parallelism: { ...s.parallelism, fsdpGradSync: "last-micro-batch" } });

  it("m micro-batches: 2m all-gathers of P but one reduce-scatter: (2m·2 + g) × P × (n−1)/n per GPU", () => {
    for (const g of [2, 4] as const) {
      const s = noSync(tiny({ gradReduceDtype: g === 4 ? "fp32" : "bf16" }, IDEAL, 12));
      const P = memoryByStage(s)[0]!.params;
      const ops = stepCollectives(compileStep(s));
      const bytes = ops.reduce((a, o) => a + o.size, 0);
      expect(bytes / ((2 * 3 * 2 + g) * P * (3 / 4)) - 1).toBeCloseTo(0, 12);
      // 10 units: 60 gathers, 10 reduce-scatters (every micro-batch by default: 30).
      expect(ops.filter((o) => o.label === "fsdp:grads").length).toBe(10);
      expect(stepCollectives(compileStep(tiny({ gradReduceDtype: "bf16" }, IDEAL, 12))).filter((o) => o.label === "fsdp:grads").length).toBe(30);
    }
  });

  it("one micro-batch: nothing to skip, the step is unchanged", () => {
    const s = tiny({ fsdpLayout: "per-parameter" });
    expect(simulateStep(noSync(s)).stepSeconds).toBe(simulateStep(s).stepSeconds);
  });

  it("per-parameter: the other micro-batches cast their gradients into the reduce dtype, the last one accumulates and chunk-cats from it", () => {
    const s = noSync(tiny({ fsdpLayout: "per-parameter", gradReduceDtype: "fp32" }));
    const k = fsdpCopyKernels(s, 4, 1e6, true);
    // bf16 gradient read, fp32 written (2 + 4); then read 2 + 4, write 4, and the chunk_cat 4 + 4.
    expect(k.accumulate[0]?.bytes).toBe(6e6);
    expect(k.reduceIn[0]?.bytes).toBe(18e6);
    expect(fsdpCopyKernels(s, 4, 1e6, false).accumulate).toEqual([]);
    const prog = compileStep({ ...s, workload: { ...s.workload, globalBatch: 12 } });
    const labels = (plan: number): string[] => (prog.plans[plan] as Op[]).map((o) => o.label);
    expect(labels(prog.backwardPlan[0] as number).filter((l) => l === "fsdp:accumulate:memory").length).toBe(10);
    expect(labels(prog.lastBackwardPlan[0] as number).filter((l) => l === "fsdp:chunk-cat:memory").length).toBe(10);
  });
});
