/**
 * AOTriton on MI300X (workload.attentionBackend: aotriton): PyTorch SDPA's default flash backend on
 * ROCm, what torchtitan's SDPA ran in the torchao MI300X rows. The levels against the kernel tables
 * they come from (models/hardware/catalog/sources.ts AOTRITON_FWD_MI300X, AOTRITON_BWD_MI300X):
 * - forward: PyTorch SDPA on one MI300X (midiareshadi/attn-dsl-bench 603819b, sweep_v1.csv), causal,
 *   head dim 128, batch 16 x 16 heads; the table counts causal FLOPs as s²/2;
 * - backward: AOTriton 0.11b's op tuning table (op_database.sqlite3, FLASH$op_attn_bwd, gfx942, BF16,
 *   head dim 128, backend 0 = split), whose op$tflops counts every row as 4·B·H·s²·d (the forward's
 *   non-causal FLOPs) per backward call, on B = 8, H = 12, cut to 3 x 4 (non-causal) and 2 x 2
 *   (causal) from seq 4096 (test/optune_flash.py, its VRAM rule).
 * trainsim counts the diagonal blocks whole, so times are compared, not TFLOP/s.
 */
import { describe, expect, it } from "vitest";
import { flashKernel } from "../helpers/flash-kernel.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { attentionBackendsOf, withAttentionBackend } from "../../models/hardware/attention-backend.ts";
import { spreadOf } from "../../models/uncertainty/spreads.ts";
import { loadScenario, scenarioFromObject } from "../../experiments/load.ts";
import { ConfigError } from "../../experiments/errors.ts";

const MI300X = CATALOG["MI300X"] as Accelerator;
const AOT = withAttentionBackend(MI300X, "aotriton");
const HD = 128;

/** One attention call as trainsim's layer builder makes it (models/workload/layer-kernels.ts). */
function call(batchHeads: number, seq: number, causal: boolean, backward: boolean): Kernel {
  return flashKernel({ batchHeads, seq, headDim: HD, causal, backward, headDims: [HD, HD] });
}

describe("AOTriton attention levels on MI300X (workload.attentionBackend: aotriton)", () => {
  it("the forward level gives attn-dsl-bench's SDPA time at 16384 and is within 4 % at 8192", () => {
    // Table time = (4·B·H·s²·d / 2) / TFLOP/s.
    const rows: [number, number][] = [[16384, 306.54171579379744], [8192, 289.5466758496806]];
    const tolerance = [0.005, 0.04];
    rows.forEach(([seq, tflops], i) => {
      const measured = (4 * 256 * seq * seq * HD) / 2 / (tflops * 1e12);
      const predicted = kernelCost(call(256, seq, true, false), AOT, "bf16").seconds;
      expect(Math.abs(predicted / measured - 1), `seq ${seq}`).toBeLessThan(tolerance[i]!);
    });
    // 16384 by hand: 256 heads x 128 blocks = 32768 blocks, 108 waves of 304; fill (8192·129/256 keys)
    // against 16384 keys at 128: level 0.239 x 0.99805 x 0.99220 of 1307.4 = 309.4 TFLOP/s of trainsim's FLOPs.
    const k = call(256, 16384, true, false);
    const fill = (k.attentionKeys! / (k.attentionKeys! + 128)) / (16384 / (16384 + 128));
    expect(kernelCost(k, AOT, "bf16").seconds).toBeCloseTo(k.flops / (0.239 * (32768 / (108 * 304)) * fill * 1307.4e12), 12);
  });

  it("the backward level is the median the eight rows of AOTriton's tuning table need, each within its spread", () => {
    // [seq, causal, B·H, op$tflops]
    const rows: [number, boolean, number, number][] = [
      [1024, false, 96, 42.6016912584362], [2048, false, 96, 44.9189496564491], [4096, false, 12, 43.3684217301111], [8192, false, 12, 45.6948445336861],
      [1024, true, 96, 53.5835259025208], [2048, true, 96, 62.3841830452477], [4096, true, 4, 44.91185359464], [8192, true, 4, 60.4825558954492],
    ];
    const level = AOT.efficiency.attentionBackwardPeakFraction!;
    expect(level).toBe(0.109);
    const needed = rows.map(([seq, causal, bh, tflops]) => {
      const measured = (4 * bh * seq * seq * HD) / (tflops * 1e12);
      const predicted = kernelCost(call(bh, seq, causal, true), AOT, "bf16").seconds;
      return (level * predicted) / measured; // the level that would give the measured time
    });
    const sorted = [...needed].sort((a, b) => a - b);
    expect((sorted[3]! + sorted[4]!) / 2).toBeCloseTo(level, 3);
    const sp = spreadOf(MI300X, "efficiency.aotritonAttentionBackwardPeakFraction");
    for (const n of needed) {
      expect(n / level - 1).toBeGreaterThanOrEqual(sp.low - 0.002);
      expect(n / level - 1).toBeLessThanOrEqual(sp.high + 0.002);
    }
    // 8192 causal, 2 x 2 heads, by hand: 256 blocks on 304 CUs (one wave, 0.842 full), 4160 keys:
    // fill 4160/4416 over 16384/16640 = 0.9567; 2.5 x 2·8192²·4·256·(65/128) FLOPs.
    const flops = 2.5 * 2 * 8192 * 8192 * 4 * 256 * (65 / 128);
    const eff = 0.109 * (256 / 304) * (4160 / 4416 / (16384 / 16640));
    expect(kernelCost(call(4, 8192, true, true), AOT, "bf16").seconds).toBeCloseTo(flops / (eff * 1307.4e12), 12);
  });

  it("is offered on MI300X and MI325X beside CK's flash-attention, swaps only the attention levels, and nowhere else", () => {
    expect(attentionBackendsOf(MI300X)).toEqual(["flash-attention", "aotriton"]);
    expect(attentionBackendsOf(CATALOG["MI325X"] as Accelerator)).toEqual(["flash-attention", "aotriton"]);
    expect(attentionBackendsOf(CATALOG["H100-SXM"] as Accelerator)).not.toContain("aotriton");
    expect(AOT.attentionBackend).toBe("aotriton");
    expect(AOT.efficiency.attentionPeakFraction).toBe(0.239);
    expect(AOT.efficiency.gemmPeakFraction).toBe(MI300X.efficiency.gemmPeakFraction);
    // No AOTriton FP8 attention table: CK's FP8 level is not carried over.
    expect(AOT.efficiency.fp8AttentionPeakFraction).toBeUndefined();
    expect(AOT.sources["efficiency.attentionBackwardPeakFraction"]).toContain("op_database.sqlite3");
    expect(MI300X.efficiency.attentionPeakFraction).toBe(0.265);
  });

  it("the torchao MI300X rows run it; H100 refuses it, naming field, value and what is allowed", () => {
    for (const f of ["mi300x-bf16", "mi300x-fp8-rowwise", "mi300x-fp8-rowwise-gw-hp", "mi300x-fp8-tensorwise"]) {
      const s = loadScenario(`experiments/published/torchao-float8/${f}.yaml`);
      expect(s.workload.attentionBackend, f).toBe("aotriton");
      expect(s.cluster.gpu.efficiency.attentionBackwardPeakFraction, f).toBe(0.109);
    }
    let message = "";
    try {
      scenarioFromObject({
        name: "ab",
        cluster: { gpu: "H100-SXM", nodes: 1 },
        workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8, attentionBackend: "aotriton" },
        parallelism: { tp: 1, pp: 1, dp: 8, microBatch: 1 },
      }, { baseDir: ".", name: "test" });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      message = e.problems.map((p) => p.message).join("\n");
    }
    expect(message).toBe(
      'workload.attentionBackend: "aotriton" is not allowed on H100-SXM: its catalog has no aotriton attention measurement (give cluster.gpu.efficiency.aotritonAttentionPeakFraction and aotritonAttentionBackwardPeakFraction levels to add one); expected "flash-attention" or "flash-attention-1" or "cudnn"',
    );
  });
});
