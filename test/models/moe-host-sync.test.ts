/**
 * What MoE layers cost beyond their GEMMs and all-to-alls (issue 27): the dropless dispatcher's
 * device-to-host synchronisation, padding to capacity, and the router's unfused kernels, each
 * hand-computed from Megatron-Core's code (core_v0.12.0).
 */
import { describe, expect, it } from "vitest";
import { kernelCost } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { ModelSpec, MoeRoutingSpec, Scenario } from "../../models/scenario.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { memory } from "../../models/workload/kernel-builders.ts";
import { layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { HOST_SYNC_SECONDS, moeHostSyncSeconds } from "../../models/workload/moe-host-sync.ts";
import { moeAllToAllBytes } from "../../models/workload/moe-kernels.ts";
import { routerBackwardKernels, routerForwardKernels } from "../../models/workload/moe-router.ts";
import { routingLoad } from "../../models/workload/moe-routing.ts";
import { scenario } from "../helpers/scenario.ts";

const MIXTRAL = BUILTIN_MODELS["mixtral-8x7b"] as ModelSpec;
const H100 = CATALOG["H100-SXM"] as Accelerator;
const balanced = { distribution: "balanced" as const, spread: 0 };

function mixtral(moe?: MoeRoutingSpec): Scenario {
  const s = scenario({ nodes: 8, model: MIXTRAL, seqLength: 4096, globalBatch: 256, plan: { tp: 1, ep: 8, pp: 2, zero: 1 } });
  return { ...s, workload: { ...s.workload, ...(moe ? { moe } : {}) } };
}

const total = (ks: ReturnType<typeof layerForwardKernels>["kernels"]) => ks.reduce((t, k) => t + kernelCost(k, H100, "bf16").seconds, 0);

describe("the dropless dispatcher's host synchronisation", () => {
  it("is one round trip per MoE layer forward with the all-to-all or DeepEP dispatch, none when padded or on TPU", () => {
    expect(moeHostSyncSeconds({ dispatch: undefined, routing: undefined, xla: false })).toBe(9.65e-6);
    expect(moeHostSyncSeconds({ dispatch: "all-to-all", routing: { capacityFactor: 1, imbalance: balanced }, xla: false })).toBe(HOST_SYNC_SECONDS);
    expect(moeHostSyncSeconds({ dispatch: "all-to-all", routing: { capacityFactor: 1, padToCapacity: true, imbalance: balanced }, xla: false })).toBe(0);
    expect(moeHostSyncSeconds({ dispatch: "deepep", routing: undefined, xla: false })).toBe(HOST_SYNC_SECONDS);
    expect(moeHostSyncSeconds({ dispatch: undefined, routing: undefined, xla: true })).toBe(0);
  });

  it("with its cost 0 the layer equals today's: the forward differs by exactly one round trip, the backward not at all", () => {
    const x = layerShape(mixtral());
    expect(x.moeHostSyncSeconds).toBe(HOST_SYNC_SECONDS);
    const off = { ...x, moeHostSyncSeconds: 0 };
    const fwd = layerForwardKernels(x).kernels;
    const fwdOff = layerForwardKernels(off).kernels;
    expect(fwd.filter((k) => k.name !== "moe.host-sync")).toEqual(fwdOff);
    const sync = fwd.find((k) => k.name === "moe.host-sync")!;
    expect(kernelCost(sync, H100, "bf16")).toEqual({ smWork: 0, hbmWork: 0, launchSeconds: HOST_SYNC_SECONDS, seconds: HOST_SYNC_SECONDS, bound: "sm" });
    expect(total(fwd) - total(fwdOff)).toBeCloseTo(HOST_SYNC_SECONDS, 12);
    expect(layerBackwardKernels(x)).toEqual(layerBackwardKernels(off));
    // It waits right after the first permutation, before the all-to-all.
    const names = fwd.map((k) => k.name);
    expect(names.indexOf("moe.host-sync")).toBe(names.indexOf("expert.permute") + 1);
  });
});

describe("padding to capacity", () => {
  it("every expert computes and exchanges capacityFactor x its balanced share whatever the routing", () => {
    const skew = { distribution: "zipf" as const, spread: 1.2 };
    expect(routingLoad(64, 8, 10, { capacityFactor: 1.25, padToCapacity: true, imbalance: skew }, 3, { topK: 2, tokensPerGroup: 16384 })).toEqual({ rankFactor: 1.25, keptShare: 1.25 });
    // Without padding the same routing drops: the busiest rank carries less than 1.25 and some copies are lost.
    const dropped = routingLoad(64, 8, 10, { capacityFactor: 1.25, imbalance: skew }, 3, { topK: 2, tokensPerGroup: 16384 });
    expect(dropped.keptShare).toBeLessThan(1);
  });

  it("at capacity factor 1.0 the all-to-all moves the balanced bytes: tokens x topK x hidden x bytes per rank", () => {
    const x = layerShape(mixtral({ capacityFactor: 1, padToCapacity: true, imbalance: { distribution: "lognormal", spread: 1 } }));
    expect(x.moeLoad).toEqual({ rankFactor: 1, keptShare: 1 });
    const tokens = 4096; // micro-batch 1 x 4096 at tp 1
    expect(moeAllToAllBytes({ model: MIXTRAL, tokens, normTokens: tokens, tp: 1, ep: 8, expertTp: 1, elementBytes: 2, load: x.moeLoad! })).toBe(tokens * 2 * 4096 * 2);
  });
});

describe("the router's unfused kernels (hand-computed bytes and launches)", () => {
  // 1024 tokens, 8 experts, top-2, bf16 logits: 8192 scores.
  const r = { tokens: 1024, experts: 8, topK: 2, elementBytes: 2, capacity: false, padToCapacity: false };
  const te = 8192;
  const sum = (ks: { bytes: number; launches: number }[]) => ({ bytes: ks.reduce((t, k) => t + k.bytes, 0), launches: ks.reduce((t, k) => t + k.launches, 0) });

  it("forward, dropless: top-k, the two dense maps, the counts and the aux loss", () => {
    // top-k 2·te + 8·T·k; probs map 2·te; routing map (2+2+4+4+1)·te; counts 1·te; aux loss (2+4+4)·te.
    expect(sum(routerForwardKernels(r, memory))).toEqual({ bytes: 2 * te + 8 * 1024 * 2 + 2 * te + 13 * te + te + 10 * te, launches: 17 });
  });

  it("forward with a capacity factor adds the capacity top-k, mask and product (and the logical_and unpadded)", () => {
    const padded = sum(routerForwardKernels({ ...r, capacity: true, padToCapacity: true }, memory));
    const plain = sum(routerForwardKernels(r, memory));
    expect(padded.bytes - plain.bytes).toBe((2 + 2 + 2 + 1 + 5) * te);
    expect(padded.launches - plain.launches).toBe(5);
    const dropping = sum(routerForwardKernels({ ...r, capacity: true }, memory));
    expect(dropping.bytes - padded.bytes).toBe(3 * te);
    expect(dropping.launches - padded.launches).toBe(1);
  });

  it("backward: top-k's scatter, the aux-loss softmax and the sum of the two logit gradients", () => {
    expect(sum(routerBackwardKernels(r, memory))).toEqual({ bytes: 2 * te + 12 * 1024 * 2 + (4 + 8 + 4 + 4 + 2) * te + 6 * te, launches: 9 });
  });
});
