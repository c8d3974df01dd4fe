/**
 * Host copies of saved activations spread over a pass's work ops (models/step/activation-copy.ts):
 * hand-computed shares, and a copy that fits under the whole pass but not under its GEMMs.
 */
import { describe, expect, it } from "vitest";
import { aloneSeconds, spreadCopy } from "../../models/step/activation-copy.ts";
import { DELAY, HBM, NV_TX, Op, PCIE_D2H, PCIE_H2D, roleCapacities, ROLES, setWork, SM, WORK } from "../../models/step/ops.ts";
import { peakFlops } from "../../models/compute/kernel.ts";
import { compileStep } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import type { Scenario } from "../../models/scenario.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";

// Capacities per role: SM 1e15 FLOP/s, HBM 1e12 B/s, NVLink 1e11 B/s each way, NIC 5e10, host link 2e10 each way.
const CAP = [1e15, 1e12, 1e11, 1e11, 5e10, 5e10, 2e10, 2e10];

function work(roles: number[], amounts: number[]): Op {
  const op = new Op();
  op.kind = WORK;
  setWork(op, roles, amounts, undefined);
  return op;
}

describe("spreadCopy", () => {
  it("time alone is the slowest role: 2e15 FLOP at 1e15/s and 1e12 B at 1e12 B/s → 2 s; a receiver's role counts as its own kind", () => {
    expect(aloneSeconds(work([SM, HBM], [2e15, 1e12]), CAP)).toBe(2);
    expect(aloneSeconds(work([NV_TX + ROLES], [3e11]), CAP)).toBeCloseTo(3, 12);
  });

  it("shares the bytes by time alone (1 s and 3 s: a quarter and three quarters); delays are left alone", () => {
    const gemm = work([SM, HBM], [1e15, 1e9]);
    const comm = work([SM, NV_TX], [1e13, 3e11]);
    const delay = new Op();
    delay.kind = DELAY;
    delay.seconds = 5;
    expect(spreadCopy([gemm, delay, comm], PCIE_D2H, 8e9, CAP)).toBe(true);
    expect(Array.from(gemm.roles)).toEqual([SM, HBM, PCIE_D2H]);
    expect(gemm.amounts[2]).toBeCloseTo(2e9, 3);
    expect(comm.amounts[2]).toBeCloseTo(6e9, 3);
    expect(delay.roles.length).toBe(0);
    // Each op now takes max(its work, its copy share / 2e10 B/s): 1 s and 3 s, unchanged, so the pass lasts 4 s as before.
    expect(aloneSeconds(gemm, CAP)).toBeCloseTo(1, 12);
    expect(aloneSeconds(comm, CAP)).toBeCloseTo(3, 12);
  });

  it("a copy longer than the pass sets its pace: 1.6e11 B at 2e10 B/s = 8 s over a 4 s pass", () => {
    const a = work([SM], [1e15]);
    const b = work([SM], [3e15]);
    spreadCopy([a, b], PCIE_H2D, 1.6e11, CAP);
    expect(aloneSeconds(a, CAP) + aloneSeconds(b, CAP)).toBeCloseTo(8, 12);
  });

  it("no work op: nothing to ride on (false); work ops of no time: all on the first", () => {
    const delay = new Op();
    delay.kind = DELAY;
    expect(spreadCopy([delay], PCIE_D2H, 1e9, CAP)).toBe(false);
    const z1 = work([SM], [0]);
    const z2 = work([SM], [0]);
    spreadCopy([z1, z2], PCIE_D2H, 1e9, CAP);
    expect(z1.amounts[1]).toBe(1e9);
    expect(z2.roles.length).toBe(1);
  });
});

describe("activation offload over the whole pass", () => {
  // The ideal GPU with HBM at 1 TB/s: the norms and activations take time beside the GEMMs.
  const gpu = { ...IDEAL, hbmBandwidth: 1e12 };
  const act = (share: number): Scenario =>
    scenario({ gpu, nodes: 1, gpusPerNode: 1, model: TINY, seqLength: 2048, globalBatch: 1, gpuVariability: 0, plan: { zero: 0, offloadActivationShare: share, recompute: "none" } });

  it("every work op of the layers' forward carries a share of the device → host copy, in proportion to its time alone", () => {
    const s = act(1);
    const prog = compileStep(s);
    const cap = roleCapacities(peakFlops(s.cluster.gpu, s.workload.precision), s.cluster.gpu, s.cluster.network.nicBandwidth, prog.hostCopyBandwidth);
    const layers = (prog.plans[prog.forwardPlan[0] as number] as Op[]).filter((o) => o.kind === WORK && o.label.startsWith("forward:"));
    // The GEMMs and the memory-bound kernels (norms, activations, casts) of TINY's layers.
    expect(layers.length).toBe(2);
    const copy = layers.map((o) => o.amounts[Array.from(o.roles).indexOf(PCIE_D2H)] as number);
    const alone = layers.map((o) => {
      const rest = new Op();
      const keep = Array.from(o.roles).map((r, i) => [r, o.amounts[i] as number] as const).filter(([r]) => r !== PCIE_D2H);
      setWork(rest, keep.map(([r]) => r), keep.map(([, a]) => a), undefined);
      return aloneSeconds(rest, cap);
    });
    expect(copy.every((b) => b > 0)).toBe(true);
    expect((copy[0] as number) / (copy[1] as number) / ((alone[0] as number) / (alone[1] as number)) - 1).toBeCloseTo(0, 12);
  });

  it("a copy longer than the pass's GEMMs but shorter than the whole pass costs no time (300 GB/s host link)", () => {
    const fast = (share: number): Scenario => {
      const s = act(share);
      return { ...s, cluster: { ...s.cluster, gpu: { ...gpu, hostCopyBandwidth: 3e11 } } };
    };
    const s = fast(1);
    const prog = compileStep(s);
    const cap = roleCapacities(peakFlops(s.cluster.gpu, s.workload.precision), s.cluster.gpu, s.cluster.network.nicBandwidth, prog.hostCopyBandwidth);
    const layers = (prog.plans[prog.forwardPlan[0] as number] as Op[]).filter((o) => o.kind === WORK && o.label.startsWith("forward:"));
    const bytes = layers.reduce((sum, o) => sum + (o.amounts[Array.from(o.roles).indexOf(PCIE_D2H)] as number), 0);
    const gemm = layers.find((o) => o.label === "forward:gemm") as Op;
    const gemmAlone = Math.max((gemm.amounts[0] as number) / (cap[SM] as number), (gemm.amounts[1] as number) / (cap[HBM] as number));
    const passAlone = layers.reduce((sum, o) => sum + aloneSeconds(o, cap), 0);
    // The setting this test is about: GEMMs alone would not hide the copy, the whole pass does.
    expect(bytes / 3e11).toBeGreaterThan(gemmAlone);
    expect(bytes / 3e11).toBeLessThan(passAlone);
    expect(simulateStep(s).stepSeconds / simulateStep(fast(0)).stepSeconds - 1).toBeCloseTo(0, 9);
  });

  it("the step is never shorter than without offload, nor than the copies' trips at the host link's rate", () => {
    const s = act(1);
    const prog = compileStep(s);
    const t = simulateStep(s).stepSeconds;
    expect(t).toBeGreaterThanOrEqual(simulateStep(act(0)).stepSeconds - 1e-12);
    let d2h = 0;
    for (const op of prog.plans[prog.forwardPlan[0] as number] as Op[]) op.roles.forEach((r, i) => (d2h += r === PCIE_D2H ? (op.amounts[i] as number) : 0));
    expect(t).toBeGreaterThanOrEqual((2 * d2h) / prog.hostCopyBandwidth);
  });
});
