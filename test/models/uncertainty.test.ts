import { describe, expect, it } from "vitest";
import { RandomStreams } from "../../sim/random.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { runScenario } from "../../models/run.ts";
import { kindOf, NIC_LINK, SCALE_UP_LINK, spreadOf, SPREADS } from "../../models/uncertainty/spreads.ts";
import { uncertainConstants, withFactors } from "../../models/uncertainty/sample.ts";
import { analyseUncertainty, band, latinHypercube, quantile, triangular } from "../../models/uncertainty/analyse.ts";
import { scenario } from "../helpers/scenario.ts";

const H100 = CATALOG["H100-SXM"] as Accelerator;

describe("spreads: every calibrated constant of the catalog carries one, from its sources", () => {
  it("each efficiency constant of each accelerator has a spread with a source, low <= 0 <= high", () => {
    let checked = 0;
    for (const gpu of Object.values(CATALOG)) {
      for (const field of Object.keys(gpu.efficiency)) {
        const sp = spreadOf(gpu, `efficiency.${field}`);
        expect(sp.source.length, `${gpu.name} ${field}`).toBeGreaterThan(20);
        expect(sp.low, `${gpu.name} ${field}`).toBeLessThanOrEqual(0);
        expect(sp.high, `${gpu.name} ${field}`).toBeGreaterThanOrEqual(0);
        // Only fitted shape parameters and channel counts may be exact (each says why).
        const kind = kindOf(`efficiency.${field}`);
        if (kind !== "fill" && kind !== "count") expect(sp.high - sp.low, `${gpu.name} ${field}`).toBeGreaterThan(0);
        checked++;
      }
      for (const link of [SCALE_UP_LINK, NIC_LINK]) expect(spreadOf(gpu, link).high - spreadOf(gpu, link).low).toBeGreaterThan(0);
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("the table names only catalog accelerators and real efficiency fields", () => {
    for (const [name, entries] of Object.entries(SPREADS)) {
      const gpu = CATALOG[name];
      expect(gpu, name).toBeDefined();
      for (const path of Object.keys(entries)) {
        if (path.startsWith("network.")) continue;
        // nvlsFraction of H100/H200 is the module default NVLS_EFFICIENCY, not a catalog field.
        if (path === "efficiency.nvlsFraction") continue;
        expect(Object.keys((gpu as Accelerator).efficiency), `${name} ${path}`).toContain(path.slice("efficiency.".length));
      }
    }
  });

  it("H100's GEMM spread is the burst/sustained disagreement: 0.706 / 0.803 below, the run-to-run spread above", () => {
    const sp = spreadOf(H100, "efficiency.gemmPeakFraction");
    expect(0.803 * (1 + sp.low)).toBeCloseTo(0.706, 6);
    expect(sp.high).toBeCloseTo(0.0245, 6);
    // H200 measured sustained: no burst gap, just two runs.
    expect(spreadOf(CATALOG["H200"] as Accelerator, "efficiency.gemmPeakFraction").low).toBeCloseTo(-0.0245, 6);
  });

  it("a derived constant takes the derivation default; one from identical silicon counts as measured", () => {
    // H200 attention backward: 'Derived from H100 (identical SMs and clocks)' -> measured default.
    expect(spreadOf(CATALOG["H200"] as Accelerator, "efficiency.attentionBackwardPeakFraction").high).toBeCloseTo(0.06, 6);
    // Gaudi 3 attention: derived by a GEMM ratio -> +-10 %.
    expect(spreadOf(CATALOG["Gaudi3"] as Accelerator, "efficiency.attentionPeakFraction").high).toBeCloseTo(0.1, 6);
    // An inline GPU: nothing measured that we know of.
    expect(spreadOf({ ...H100, name: "my-gpu" }, "efficiency.hbmPeakFraction").high).toBeCloseTo(0.031, 6);
  });
});

describe("sampling", () => {
  it("quantile interpolates between order statistics (type 7): [1..5] p5 = 1.2, p50 = 3, p95 = 4.8", () => {
    expect(quantile([1, 2, 3, 4, 5], 0.05)).toBeCloseTo(1.2, 12);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5], 0.95)).toBeCloseTo(4.8, 12);
    expect(band([5, 1, 4, 2, 3])).toEqual({ p5: quantile([1, 2, 3, 4, 5], 0.05), p50: 3, p95: quantile([1, 2, 3, 4, 5], 0.95) });
  });

  it("triangular inverse CDF, hand-computed on [0, 2] with mode 1 and on [0, 1] with mode 1", () => {
    expect(triangular(0.5, 0, 1, 2)).toBeCloseTo(1, 12);
    expect(triangular(0.125, 0, 1, 2)).toBeCloseTo(0.5, 12); // sqrt(0.125 * 2 * 1)
    expect(triangular(0.875, 0, 1, 2)).toBeCloseTo(1.5, 12);
    expect(triangular(0.25, 0, 1, 1)).toBeCloseTo(0.5, 12); // mode at the top: sqrt(u)
    expect(triangular(0.3, 1, 1, 1)).toBe(1);
  });

  it("Latin hypercube: each constant has exactly one point per stratum, and its draws do not depend on the other constants", () => {
    const n = 50;
    const u = latinHypercube(new RandomStreams(7), ["a", "b", "c"], n);
    for (const col of u) {
      const strata = col.map((x) => Math.floor(x * n)).sort((x, y) => x - y);
      expect(strata).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    const alone = latinHypercube(new RandomStreams(7), ["b"], n);
    expect(alone[0]).toEqual(u[1]);
    expect(latinHypercube(new RandomStreams(8), ["b"], n)[0]).not.toEqual(u[1]);
  });
});

describe("constants of a scenario and moving them", () => {
  const s = scenario({ gpu: "H100-SXM", nodes: 2, model: "gpt-7.5b", seqLength: 2048, globalBatch: 64, plan: { tp: 2 } });

  it("a BF16 H100 run samples GEMM, HBM, launch, both attention levels, the norms' shares of STREAM, NVLS and both link rates; no FP8 field, no RoPE or gated activation (GPT: learned positions, GeLU)", () => {
    expect(uncertainConstants(s).map((c) => c.path)).toEqual([
      "efficiency.attentionBackwardPeakFraction",
      "efficiency.attentionPeakFraction",
      "efficiency.gemmPeakFraction",
      "efficiency.hbmPeakFraction",
      "efficiency.kernelLaunchSeconds",
      "efficiency.normBackwardStreamRelative",
      "efficiency.normStreamRelative",
      "efficiency.nvlsFraction",
      NIC_LINK,
      SCALE_UP_LINK,
    ]);
  });

  it("factor 1 everywhere leaves the step as it is; the NIC factor is the NIC bandwidth; the scale-up factor leaves NVLS's rate alone", () => {
    const ones = new Map(uncertainConstants(s).map((c) => [c.path, 1]));
    expect(runScenario(withFactors(s, ones)).result.stepSeconds).toBe(runScenario(s).result.stepSeconds);
    const halfNic = withFactors(s, new Map([[NIC_LINK, 0.5]]));
    expect(halfNic.cluster.network.nicBandwidth).toBe(s.cluster.network.nicBandwidth * 0.5);
    const link = withFactors(s, new Map([[SCALE_UP_LINK, 1.1]]));
    expect(link.cluster.gpu.scaleUpBandwidth).toBeCloseTo(H100.scaleUpBandwidth * 1.1, 0);
    // NVLS time = bytes / (nvlsFraction x scaleUpBandwidth): unchanged.
    expect((link.cluster.gpu.efficiency.nvlsFraction as number) * link.cluster.gpu.scaleUpBandwidth).toBeCloseTo(0.61 * H100.scaleUpBandwidth, 0);
    const gemm = withFactors(s, new Map([["efficiency.gemmPeakFraction", 0.9]]));
    expect(gemm.cluster.gpu.efficiency.gemmPeakFraction).toBeCloseTo(0.803 * 0.9, 12);
    expect(s.cluster.gpu.efficiency.gemmPeakFraction).toBe(0.803); // the input is not touched
  });

  it("same seed, same bands, byte for byte; another seed, other samples", () => {
    const a = analyseUncertainty(s, { samples: 12, mode: "folded" });
    const b = analyseUncertainty(s, { samples: 12, mode: "folded" });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = analyseUncertainty({ ...s, seed: 2 }, { samples: 12, mode: "folded" });
    expect(c.stepSeconds).not.toEqual(a.stepSeconds);
    expect(a.stepSeconds.p5).toBeLessThanOrEqual(a.stepSeconds.p50);
    expect(a.stepSeconds.p50).toBeLessThanOrEqual(a.stepSeconds.p95);
    // Tokens/s and MFU fall as the step grows.
    expect(a.tokensPerSecond.p5).toBeLessThanOrEqual(a.tokensPerSecond.p95);
    expect(a.mfu.p5).toBeLessThanOrEqual(a.mfu.p95);
  });

  it("sensitivity: a slower GEMM never makes the step faster, and the GEMM level moves this compute-bound step most", () => {
    const base = runScenario(s).result.stepSeconds;
    const a = analyseUncertainty(s, { samples: 10, mode: "folded" });
    const gemm = a.sensitivity.find((x) => x.path === "efficiency.gemmPeakFraction");
    expect(gemm).toBeDefined();
    expect(gemm!.lowStepSeconds).toBeGreaterThan(base);
    expect(gemm!.highStepSeconds).toBeLessThan(base);
    expect(a.sensitivity[0]!.path).toBe("efficiency.gemmPeakFraction");
    // Sorted by swing.
    const swings = a.sensitivity.map((x) => Math.abs(x.highStepSeconds - x.lowStepSeconds));
    for (let i = 1; i < swings.length; i++) expect(swings[i]!).toBeLessThanOrEqual(swings[i - 1]!);
  });
});
