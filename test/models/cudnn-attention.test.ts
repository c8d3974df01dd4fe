/**
 * cuDNN's fused flash attention against its own SDPA training benchmark (NVIDIA/cudnn-frontend
 * benchmark/sdpa_benchmark_training): on Blackwell (the catalog's own levels) one
 * Llama-3.1-405B-like layer (batch 1, 128 query / 8 KV heads), on H200 a Llama-3.1-70B-like one
 * (64 / 8 heads; workload.attentionBackend: cudnn); head dim 128, causal, sequence 2k-32k. The
 * benchmark counts s²/2 FLOPs for a causal layer; trainsim counts the diagonal blocks whole, so
 * times are compared, not TFLOP/s.
 */
import { describe, expect, it } from "vitest";
import { flashKernel } from "../helpers/flash-kernel.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { ATTENTION_FILL_KEYS } from "../../models/compute/gemm-efficiency.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { attentionBackendsOf, withAttentionBackend } from "../../models/hardware/attention-backend.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { ConfigError } from "../../experiments/errors.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;
/** `g` at the free clock its attention tables were timed at (no clock ratio applied): the benchmarks below sleep between calls. */
function freeClock(g: Accelerator): Accelerator {
  const efficiency = { ...g.efficiency };
  delete efficiency.attentionClockRatio;
  delete efficiency.fp8RunAttentionClockRatio;
  return { ...g, efficiency };
}
const SEQ = [2048, 4096, 8192, 16384, 32768];
const HEADS = 128;
const HD = 128;

/** The benchmark's layer as trainsim's layer builder makes it (models/workload/layer-kernels.ts attentionCore). */
function layer(seq: number, backward: boolean, fp8: boolean, heads = HEADS): Kernel {
  return flashKernel({ batchHeads: heads, seq, headDim: HD, causal: true, backward, fp8 });
}

/** Seconds the benchmark measured: its TFLOP/s over its own s²/2 count. */
function measuredSeconds(seq: number, backward: boolean, tflops: number, heads = HEADS): number {
  return ((backward ? 2.5 : 1) * 4 * seq * seq * heads * HD) / 2 / (tflops * 1e12);
}

function within(name: string | Accelerator, tables: Partial<Record<"bf16Fwd" | "bf16Bwd" | "fp8Fwd" | "fp8Bwd", number[]>>, tolerance: number, heads = HEADS): void {
  const g = freeClock(typeof name === "string" ? gpu(name) : name);
  for (const [key, values] of Object.entries(tables)) {
    const backward = key.endsWith("Bwd");
    const fp8 = key.startsWith("fp8");
    SEQ.forEach((s, i) => {
      const predicted = kernelCost(layer(s, backward, fp8, heads), g, fp8 ? "fp8" : "bf16").seconds;
      const measured = measuredSeconds(s, backward, values[i]!, heads);
      expect(Math.abs(predicted / measured - 1), `${g.name} ${key} seq ${s}: ${(predicted * 1e3).toFixed(3)} ms vs ${(measured * 1e3).toFixed(3)} ms`).toBeLessThan(tolerance);
    });
  }
}

describe("Blackwell flash attention (cuDNN through cudnn-frontend, the path Transformer Engine takes)", () => {
  it("B200: cuDNN 9.10.2 (cudnn-frontend 1.12, NGC 25.06, CUDA 12.9; commit 9793df5) BF16 and FP8, forward and backward, 2k-32k within 8 %", () => {
    within(
      "B200",
      {
        bf16Fwd: [670.199, 996.425, 1248.265, 1365.371, 1434.986],
        bf16Bwd: [499.822, 801.509, 987.67, 1136.796, 1175.41],
        fp8Fwd: [717.023, 1095.271, 1370.101, 1559.697, 1651.456],
        fp8Bwd: [588.69, 911.167, 1214.331, 1434.799, 1561.247],
      },
      0.08,
    );
  });

  it("GB200: cuDNN 9.17.0 (cudnn-frontend 1.16, NGC 25.11, CUDA 13.0; commit b372d39), 2k-32k within 9 %", () => {
    within(
      "GB200",
      {
        bf16Fwd: [1069, 1386, 1584, 1668, 1681],
        bf16Bwd: [655, 1054, 1211, 1304, 1348],
        fp8Fwd: [1321, 1661, 1893, 2033, 2124],
        fp8Bwd: [672, 1088, 1261, 1370, 1429],
      },
      0.09,
    );
  });

  it("GB300: cuDNN 9.17.0 (same run as GB200), 2k-32k within 13 % (its backward at 2k sits above the 4k point's trend)", () => {
    within(
      "GB300",
      {
        bf16Fwd: [1312, 1682, 1899, 1978, 2007],
        bf16Bwd: [633, 1110, 1292, 1399, 1438],
        fp8Fwd: [1707, 2194, 2565, 2809, 2968],
        fp8Bwd: [693, 1177, 1390, 1534, 1600],
      },
      0.13,
    );
  });

  it("a 4k causal layer on B200 runs well below the long-sequence level (measured 996 of 1435 TFLOP/s at 32k), as FA2 on H100 does not (319 of 335)", () => {
    const b200 = gpu("B200");
    const rate = (s: number): number => {
      const k = layer(s, false, false);
      return k.flops / kernelCost(k, b200, "bf16").seconds;
    };
    expect(rate(4096) / rate(32768)).toBeLessThan(0.8);
    expect(rate(4096) / rate(32768)).toBeGreaterThan(0.6);
  });

  it("at the 16k-key reference every fill gives the catalog level exactly, and a GPU without a fill of its own takes FA2's", () => {
    const b200 = gpu("B200");
    // Non-causal 16k keys, one full wave per SM: the fill factor is 1 whatever its size.
    const k: Kernel = { name: "a", kind: "attention", flops: 4 * 16384 * 16384 * b200.smCount * HD, bytes: 0, attentionBlocks: b200.smCount * 128, attentionKeys: 16384, launches: 0 };
    const at = (g: Accelerator): number => k.flops / kernelCost(k, g, "bf16").seconds / (g.peakFlops.bf16 as number);
    expect(at(freeClock(b200))).toBeCloseTo(b200.efficiency.attentionPeakFraction, 12);
    expect(at(b200)).toBeCloseTo(b200.efficiency.attentionPeakFraction * (b200.efficiency.attentionClockRatio as number), 12);
    const small = freeClock({ ...b200, efficiency: { ...b200.efficiency, attentionFillKeys: 1 } });
    expect(at(small)).toBeCloseTo(b200.efficiency.attentionPeakFraction, 12);
    expect(gpu("H100-SXM").efficiency.attentionFillKeys).toBeUndefined();
    expect(ATTENTION_FILL_KEYS).toEqual({ forward: 128, backward: 256 });
  });
});

describe("cuDNN attention on Hopper (workload.attentionBackend: cudnn; what Transformer Engine runs on sm90)", () => {
  // FlashAttention-3 paper (arXiv 2407.08608) Fig. 5-6, H100 SXM5, head dim 128: batch x seq = 16k, 16 heads; cuDNN bars.
  const FA3_SEQ = [512, 1024, 2048, 4096, 8192, 16384];
  function fa3Setup(seq: number, causal: boolean, backward: boolean): { kernel: Kernel; paperFlops: number } {
    const batch = 16384 / seq;
    const nb = Math.ceil(seq / 128);
    const keys = causal ? (seq * (nb + 1)) / (2 * nb) : seq;
    const work = (backward ? 2.5 : 1) * 4 * batch * seq * 16 * 128;
    const kernel: Kernel = { name: "a", kind: "attention", flops: work * keys, bytes: 0, attentionBlocks: batch * 16 * nb, attentionKeys: keys, launches: 0, ...(backward ? { backward: true } : {}) };
    return { kernel, paperFlops: work * seq * (causal ? 0.5 : 1) };
  }
  function fa3Within(g: Accelerator, causal: boolean, backward: boolean, tflops: number[], tolerance: number): void {
    FA3_SEQ.forEach((s, i) => {
      const { kernel, paperFlops } = fa3Setup(s, causal, backward);
      const ratio = kernelCost(kernel, g, "bf16").seconds / (paperFlops / (tflops[i]! * 1e12));
      expect(Math.abs(ratio - 1), `${g.name} seq ${s}`).toBeLessThan(tolerance);
    });
  }

  it("H100: cuDNN's causal forward (315-539 TFLOP/s) within 3 %, backward (305-516) within 4 %, 512-16k", () => {
    const h100 = withAttentionBackend(gpu("H100-SXM"), "cudnn");
    fa3Within(h100, true, false, [315, 410, 484, 518, 529, 539], 0.03);
    fa3Within(h100, false, true, [305, 408, 465, 499, 518, 516], 0.04);
  });

  it("runs about 1.65 times FlashAttention-2 at long sequence (causal 539 against 335 TFLOP/s measured)", () => {
    const fa2 = gpu("H100-SXM");
    const cudnn = withAttentionBackend(fa2, "cudnn");
    const { kernel } = fa3Setup(16384, true, false);
    const ratio = kernelCost(kernel, fa2, "bf16").seconds / kernelCost(kernel, cudnn, "bf16").seconds;
    expect(ratio).toBeGreaterThan(1.55);
    expect(ratio).toBeLessThan(1.75);
  });

  it("newer cuDNN (9.19 on H200, cudnn-frontend df73764) is up to 22 % faster than the catalog's mid-2024 levels, never slower beyond 3 %", () => {
    // results/h200_919_only_cudnn/llama3.1_20260227_034703.csv: 64 query / 8 KV heads, causal, 2k-32k.
    const h200 = freeClock(withAttentionBackend(gpu("H200"), "cudnn"));
    const table = { bf16Fwd: [484, 591, 644, 673, 688], bf16Bwd: [370, 474, 541, 579, 581] };
    for (const [key, values] of Object.entries(table)) {
      const backward = key.endsWith("Bwd");
      SEQ.forEach((s, i) => {
        const ratio = kernelCost(layer(s, backward, false, 64), h200, "bf16").seconds / measuredSeconds(s, backward, values[i]!, 64);
        expect(ratio, `${key} ${s}`).toBeGreaterThan(0.97);
        expect(ratio, `${key} ${s}`).toBeLessThan(1.22);
      });
    }
  });

  it("its FP8 backward (the H200 table's, falling with length past 4k) within 23 %", () => {
    within(withAttentionBackend(gpu("H200"), "cudnn"), { fp8Bwd: [393, 471, 430, 374, 370] }, 0.23, 64);
  });

  it("swaps only the attention levels, with their sources; asking for the catalog's own kernel changes nothing", () => {
    const h100 = gpu("H100-SXM");
    const c = withAttentionBackend(h100, "cudnn");
    expect(c.efficiency).toEqual({
      ...h100.efficiency,
      attentionPeakFraction: 0.579,
      attentionBackwardPeakFraction: 0.554,
      fp8AttentionPeakFraction: 0.509,
      fp8AttentionBackwardPeakFraction: 0.238,
      attentionFillKeys: 128,
      attentionBackwardFillKeys: 384,
    });
    expect(c.sources["efficiency.attentionPeakFraction"]).toBe(h100.sources["efficiency.cudnnAttentionPeakFraction"]);
    expect(c.sources["efficiency.gemmPeakFraction"]).toBe(h100.sources["efficiency.gemmPeakFraction"]);
    expect(withAttentionBackend(h100, "flash-attention")).toBe(h100);
    expect(withAttentionBackend(h100, undefined)).toBe(h100);
    expect(withAttentionBackend(gpu("B200"), "cudnn")).toBe(gpu("B200"));
    expect(attentionBackendsOf(h100)).toEqual(["flash-attention", "flash-attention-1", "cudnn"]);
    // B200 also has FlashAttention-2 levels (test/models/fa2-blackwell.test.ts); GB200 has cuDNN's only.
    expect(attentionBackendsOf(gpu("B200"))).toEqual(["cudnn", "flash-attention"]);
    expect(attentionBackendsOf(gpu("GB200"))).toEqual(["cudnn"]);
    expect(attentionBackendsOf(gpu("A100-80GB"))).toEqual(["flash-attention", "flash-attention-1"]);
  });
});

const OPTS = { baseDir: ".", name: "test" };

describe("workload.attentionBackend in a scenario", () => {
  const scenario = (gpuName: string, workload: Record<string, unknown>) =>
    scenarioFromObject({
      name: "ab",
      cluster: { gpu: gpuName, nodes: 1 },
      workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8, ...workload },
      parallelism: { tp: 1, pp: 1, dp: 8, microBatch: 1 },
    }, OPTS);
  const problem = (gpuName: string, workload: Record<string, unknown>): string => {
    try {
      scenario(gpuName, workload);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.map((p) => p.message).join("\n");
      throw e;
    }
    return "";
  };

  it("cudnn on H100 carries cuDNN's levels in cluster.gpu; absent leaves the catalog's", () => {
    const s = scenario("H100-SXM", { attentionBackend: "cudnn" });
    expect(s.workload.attentionBackend).toBe("cudnn");
    expect(s.cluster.gpu.efficiency.attentionPeakFraction).toBe(0.579);
    const plain = scenario("H100-SXM", {});
    expect(plain.workload.attentionBackend).toBeUndefined();
    expect(plain.cluster.gpu.efficiency.attentionPeakFraction).toBe(0.35);
    expect(scenario("H100-SXM", { attentionBackend: "flash-attention" }).cluster.gpu.efficiency).toEqual(plain.cluster.gpu.efficiency);
  });

  it("refuses a kernel the GPU has no levels for, and cudnn with unfused attention, naming field, value and what is allowed", () => {
    expect(problem("A100-80GB", { attentionBackend: "cudnn" })).toBe(
      'workload.attentionBackend: "cudnn" is not allowed on A100-80GB: its catalog has no cudnn attention measurement (give cluster.gpu.efficiency.cudnnAttentionPeakFraction and the other cudnn* levels to add one); expected "flash-attention" or "flash-attention-1"',
    );
    expect(problem("GB200", { attentionBackend: "flash-attention" })).toBe(
      'workload.attentionBackend: "flash-attention" is not allowed on GB200: its catalog has no flash-attention attention measurement (give cluster.gpu.efficiency.fa2AttentionPeakFraction and the other fa2* levels to add one); expected "cudnn"',
    );
    expect(problem("H100-SXM", { attentionBackend: "cudnn", attention: "unfused" })).toMatch(/^workload\.attentionBackend: "cudnn" is not allowed with attention: unfused/);
    expect(problem("H100-SXM", { attentionBackend: "triton" })).toMatch(/^workload\.attentionBackend: .*"flash-attention", "flash-attention-1", "cudnn"/);
  });

  it("an A100 given cuDNN levels of its own takes them", () => {
    const s = scenarioFromObject({
      name: "ab",
      cluster: { gpu: { base: "A100-80GB", efficiency: { cudnnAttentionPeakFraction: 0.6, cudnnAttentionBackwardPeakFraction: 0.5 } }, nodes: 1 },
      workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8, attentionBackend: "cudnn" },
      parallelism: { tp: 1, pp: 1, dp: 8, microBatch: 1 },
    }, OPTS);
    expect(s.cluster.gpu.efficiency.attentionPeakFraction).toBe(0.6);
    expect(s.cluster.gpu.efficiency.attentionBackwardPeakFraction).toBe(0.5);
    // No cuDNN fill given: the default fill (FA2's), not A100's FA2-derived one.
    expect(s.cluster.gpu.efficiency.attentionFillKeys).toBeUndefined();
  });
});
