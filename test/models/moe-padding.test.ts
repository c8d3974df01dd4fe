/** FP8 alignment of each expert's rows (models/workload/moe-padding.ts), hand-computed. */
import { describe, expect, it } from "vitest";
import type { ModelSpec } from "../../models/scenario.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { memory } from "../../models/workload/kernel-builders.ts";
import { moeAllToAllBytes, moeMlpBackward, moeMlpForward, type MoeBuilders, type MoeLayerInput } from "../../models/workload/moe-kernels.ts";
import { fp8AlignRows, NO_PADDING, quantPadding } from "../../models/workload/moe-padding.ts";
import { BALANCED_LOAD } from "../../models/workload/moe-routing.ts";
import type { Kernel } from "../../models/compute/kernel.ts";
import { loadScenario } from "../../experiments/load.ts";
import { layerShape } from "../../models/workload/memory.ts";

const base = { routerPadding: false, dispatch: "all-to-all" as const, experts: 128, ep: 8, expertTp: 1, copiesPerRank: 4096 * 8 };
const builders: MoeBuilders = {
  linear: (name, m, n, k, batch) => ({ name, kind: "gemm", flops: 2 * m * n * k * (batch ?? 1), bytes: 0, gemm: { m, n, k, batch: batch ?? 1 }, launches: 1 }),
  highGemm: (name, m, n, k) => ({ name, kind: "gemm", flops: 2 * m * n * k, bytes: 0, gemm: { m, n, k }, launches: 1 }),
  memory,
  withQuantize: (k) => [k],
  backward: (k) => [{ ...k, name: `${k.name}.dgrad` }, { ...k, name: `${k.name}.wgrad` }],
};
const gemmM = (ks: Kernel[], name: string) => ks.find((k) => k.name === name)!.gemm!.m;

describe("which padding an FP8 MoE layer runs", () => {
  it("16 rows, 32 under MXFP8 (TE Fp8Padding's default)", () => {
    expect(fp8AlignRows("delayed")).toBe(16);
    expect(fp8AlignRows("blockwise")).toBe(16);
    expect(fp8AlignRows("mxfp8")).toBe(32);
  });

  it("BF16 and torchao's recipes: none", () => {
    expect(quantPadding({ ...base, fp8Recipe: undefined })).toBe(NO_PADDING);
    expect(quantPadding({ ...base, fp8Recipe: "rowwise" })).toBe(NO_PADDING);
  });

  it("dropless with the all-to-all dispatch: TEGroupedMLP's copies and (a − 1)/2 rows per expert", () => {
    expect(quantPadding({ ...base, fp8Recipe: "delayed" })).toEqual({ routerCopies: 0, expertRows: 7.5, copies: true });
    expect(quantPadding({ ...base, fp8Recipe: "mxfp8" })).toEqual({ routerCopies: 0, expertRows: 15.5, copies: true });
  });

  it("router padding: experts · (a − 1)/2 more copies per rank, no copies", () => {
    expect(quantPadding({ ...base, fp8Recipe: "blockwise", routerPadding: true })).toEqual({ routerCopies: 128 * 7.5, expertRows: 0, copies: false });
  });

  it("DeepEP / HybridEP align inside their permutation: rows, no copies", () => {
    expect(quantPadding({ ...base, fp8Recipe: "mxfp8", dispatch: "deepep" })).toEqual({ routerCopies: 0, expertRows: 15.5, copies: false });
  });

  it("padded to an aligned capacity: none; to an unaligned one: the expert's padding", () => {
    // 32768 copies / 128 experts × 1.0 = 256 rows from each of 8 ranks: 2048, a multiple of 16.
    expect(quantPadding({ ...base, fp8Recipe: "delayed", paddedCapacityFactor: 1 })).toBe(NO_PADDING);
    // 1000 copies over 128 experts × 1.0: capacity 8, × 1 rank = 8 rows, not a multiple of 16.
    expect(quantPadding({ ...base, ep: 1, copiesPerRank: 1000, fp8Recipe: "delayed", paddedCapacityFactor: 1 })).toEqual({ routerCopies: 0, expertRows: 7.5, copies: true });
  });

  it("Transformer Engine up to v2.2 (fp8PadAlways): an aligned capacity is still copied, with no rows added; DeepEP and unaligned counts unchanged", () => {
    // TE v2.2 fp8_padding.py / fp8_unpadding.py copy whatever the counts; TE PR #1525 (v2.3) passes aligned counts through.
    expect(quantPadding({ ...base, fp8Recipe: "delayed", paddedCapacityFactor: 1, padAlways: true })).toEqual({ routerCopies: 0, expertRows: 0, copies: true });
    expect(quantPadding({ ...base, fp8Recipe: "delayed", paddedCapacityFactor: 1, dispatch: "deepep", padAlways: true })).toBe(NO_PADDING);
    expect(quantPadding({ ...base, ep: 1, copiesPerRank: 1000, fp8Recipe: "delayed", paddedCapacityFactor: 1, padAlways: true })).toEqual({ routerCopies: 0, expertRows: 7.5, copies: true });
    expect(quantPadding({ ...base, fp8Recipe: undefined, paddedCapacityFactor: 1, padAlways: true })).toBe(NO_PADDING);
  });

  it("the A4 NeMo Qwen3-30B-A3B runs (TE bee4649c, capacity 1.0 padded): four copies of 1 GiB per layer and micro-batch, expert GEMMs of 8192 rows", () => {
    const x = layerShape(loadScenario("experiments/published/gpu-recipes-a4-nemo/qwen3-30b-a3b-32gpu-fp8.yaml"));
    // 4 sequences of 4096 tokens, top-8 over 128 experts: capacity 16384·8/128 = 1024 rows per expert from each
    // of the 8 EP ranks, 8192 per local expert, a multiple of 16: no rows added, but the copies run.
    expect(x.moePadding).toEqual({ routerCopies: 0, expertRows: 0, copies: true });
    const layer: MoeLayerInput = { model: x.model, tokens: 16384, normTokens: 16384, tp: 1, ep: 8, expertTp: 1, elementBytes: 2, load: BALANCED_LOAD, padding: x.moePadding! };
    const fwd = moeMlpForward(layer, builders);
    // 131072 received rows of 2048 BF16 elements, read once and written once: 2·2·131072·2048 = 1,073,741,824 bytes.
    expect(fwd.kernels.filter((k) => k.name.startsWith("expert.fp8-")).map((k) => k.bytes)).toEqual([1073741824, 1073741824]);
    expect(gemmM(fwd.kernels, "expert.fc1")).toBe(8192);
    const byName = new Map(fwd.weightGemms.map((k) => [k.name, k]));
    const bwd = moeMlpBackward(layer, builders, byName).filter((k) => k.name.startsWith("expert.fp8-"));
    expect(bwd.map((k) => [k.name, k.bytes])).toEqual([["expert.fp8-unpad.bwd", 1073741824], ["expert.fp8-pad.bwd", 1073741824]]);
  });
});

describe("what the padding costs the layer", () => {
  const model = { ...(BUILTIN_MODELS["mixtral-8x7b"] as ModelSpec) };
  const x: MoeLayerInput = { model, tokens: 4096, normTokens: 4096, tp: 1, ep: 8, expertTp: 1, elementBytes: 2, load: BALANCED_LOAD };

  it("the expert's padding: two copies of the received rows each way, (a − 1)/2 more rows per expert GEMM, the all-to-all unchanged", () => {
    const plain = moeMlpForward(x, builders).kernels;
    const padded = moeMlpForward({ ...x, padding: { routerCopies: 0, expertRows: 7.5, copies: true } }, builders).kernels;
    // Balanced: 4096 copies · top-2 received, over 1 local expert.
    const received = 4096 * 2;
    expect(padded.filter((k) => k.name.startsWith("expert.fp8-")).map((k) => [k.name, k.bytes])).toEqual([
      ["expert.fp8-pad", 2 * 2 * received * 4096],
      ["expert.fp8-unpad", 2 * 2 * received * 4096],
    ]);
    expect(gemmM(padded, "expert.fc1")).toBe(gemmM(plain, "expert.fc1") + 7.5);
    const byName = new Map(moeMlpForward(x, builders).weightGemms.map((k) => [k.name, k]));
    const bwd = moeMlpBackward({ ...x, padding: { routerCopies: 0, expertRows: 7.5, copies: true } }, builders, byName).map((k) => k.name);
    expect(bwd.filter((n) => n.startsWith("expert.fp8-"))).toEqual(["expert.fp8-unpad.bwd", "expert.fp8-pad.bwd"]);
    expect(moeAllToAllBytes({ ...x, padding: { routerCopies: 0, expertRows: 7.5, copies: true } })).toBe(moeAllToAllBytes(x));
  });

  it("router padding: the all-to-all and the experts carry experts · (a − 1)/2 more copies", () => {
    const pad = { routerCopies: 8 * 7.5, expertRows: 0, copies: false };
    // 4096 tokens · top-2 copies of 4096 elements in BF16, plus 60 copies.
    expect(moeAllToAllBytes({ ...x, padding: pad })).toBe(2 * (4096 * 2 + 60) * 4096);
    expect(gemmM(moeMlpForward({ ...x, padding: pad }, builders).kernels, "expert.fc1")).toBe(4096 * 2 + 60);
  });
});
