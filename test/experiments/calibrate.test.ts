/**
 * trainsim calibrate: parsers, the robust fits, recovery of known constants from
 * measurements trainsim itself made, and the published 8 × H100 NVLS all-reduce table.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectiveLoad, sizeEfficiency } from "../../models/collectives/alpha-beta.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import { buildTopology } from "../../models/network/build.ts";
import { collectiveTable } from "../../models/network/nccl-table.ts";
import { NVLS_EFFICIENCY } from "../../models/network/collectives.ts";
import { RandomStreams } from "../../sim/random.ts";
import { calibrate } from "../../experiments/calibrate/calibrate.ts";
import { applyCalibration, calibratedCluster, readCalibration, type CalibrationFile } from "../../experiments/calibrate/calibration-file.ts";
import { CalibrationInputError } from "../../experiments/calibrate/errors.ts";
import { tableCluster } from "../../experiments/calibrate/fit-collectives.ts";
import { gemmShapeFactor } from "../../experiments/calibrate/fit-kernels.ts";
import { parseKernelCsv } from "../../experiments/calibrate/kernel-csv.ts";
import { parseNcclTests } from "../../experiments/calibrate/nccl-tests.ts";
import { ladRelativeLine, ladRelativeScale } from "../../experiments/calibrate/robust.ts";
import { loadScenario } from "../../experiments/load.ts";
import { uncertainConstants } from "../../models/uncertainty/sample.ts";
import { NIC_LINK, spreadOf } from "../../models/uncertainty/spreads.ts";

const H100 = CATALOG["H100-SXM"]!;
const FIXTURES = join(import.meta.dirname, "../fixtures/calibrate");
const MiB = 2 ** 20;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "trainsim-calibrate-"));
}

/** Rows as nccl-tests prints them (with the root column), out-of-place and in-place times in seconds. */
function ncclText(rows: readonly { bytes: number; oop: number; ip: number }[], busFactor: number): string {
  const head = [
    "# nThread 1 nGpus 8 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0",
    "#",
    "#                                                              out-of-place                       in-place          ",
    "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong",
    "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       ",
  ];
  const cell = (b: number, s: number): string => `${(s * 1e6).toFixed(2)} ${(b / s / 1e9).toFixed(2)} ${((b / s / 1e9) * busFactor).toFixed(2)} 0`;
  const body = rows.map((r) => `${r.bytes} ${r.bytes / 4} float sum -1 ${cell(r.bytes, r.oop)} ${cell(r.bytes, r.ip)}`);
  return [...head, ...body, "# Out of bounds values : 0 OK", "# Avg bus bandwidth    : 100.0", "#"].join("\n") + "\n";
}

describe("nccl-tests parser", () => {
  it("reads rows with and without the root column, the average line, and the collective from the file name", () => {
    const withRoot = parseNcclTests("all_gather_perf.txt", "#  Rank  0 Group  0 Pid 1 on a device  0 [0x18] NVIDIA H100 80GB HBM3\n#  Rank  1 Group  0 Pid 2 on a device  1 [0x2a] NVIDIA H100 80GB HBM3\n  1048576  131072  float  none  -1  20.50  51.15  25.58  0  20.00  52.43  26.21  0\n# Avg bus bandwidth    : 25.9\n");
    expect(withRoot.op).toBe("all-gather");
    expect(withRoot.ranksListed).toBe(2);
    expect(withRoot.avgBusbw).toBeCloseTo(25.9e9, 0);
    expect(withRoot.rows[0]).toMatchObject({ line: 3, bytes: 1048576 });
    expect(withRoot.rows[0]!.outOfPlaceSeconds).toBeCloseTo(20.5e-6, 15);
    expect(withRoot.rows[0]!.inPlaceSeconds).toBeCloseTo(20e-6, 15);
    // nccl-tests before 2.10: no root column, `error` instead of #wrong.
    const old = parseNcclTests("log.txt", "# Collective test starting: reduce_scatter_perf\n1048576 262144 float sum 2.059 0.51 0.51 N/A 3.314 0.32 0.32 N/A\n");
    expect(old.op).toBe("reduce-scatter");
    expect(old.rows[0]!.inPlaceSeconds).toBeCloseTo(3.314e-6, 12);
  });

  it("names the file, line and field of a malformed row", () => {
    expect(() => parseNcclTests("all_reduce_perf.txt", "# header\n8 2 float sum -1 4x.1 0.00 0.00 0 41.56 0.00 0.00 0\n")).toThrow(/all_reduce_perf.txt:2: time \(out-of-place, us\): "4x.1" is not allowed; expected a number > 0/);
    expect(() => parseNcclTests("all_reduce_perf.txt", "8 2 float sum -1 4.1\n")).toThrow(/all_reduce_perf.txt:1: row: 6 fields/);
    expect(() => parseNcclTests("mystery.txt", "8 2 float sum -1 4.1 0 0 0 4.1 0 0 0\n")).toThrow(/mystery.txt: collective: cannot tell/);
  });
});

describe("robust fits", () => {
  it("a least-absolute-deviations line ignores a minority of wild rows", () => {
    const x = [1, 2, 3, 4, 5, 6, 7];
    const y = x.map((v) => 2 + 3 * v);
    y[3] = 100; // one wild row
    const l = ladRelativeLine(x, y);
    expect(l.intercept).toBeCloseTo(2, 10);
    expect(l.slope).toBeCloseTo(3, 10);
    expect(ladRelativeScale([2, 4, 6, 80], [1, 2, 3, 4])).toBeCloseTo(2, 10);
  });
});

describe("the published 8 x H100 NVLS all-reduce table (Azure ND H100 v5)", () => {
  const md = readFileSync(join(FIXTURES, "azure-nd-h100-v5-allreduce-nvls.md"), "utf8");
  const published = [...md.matchAll(/^\| \S+ \| (\d+) \| ([\d.]+) \|$/gm)].map((m) => ({ bytes: Number(m[1]), busbw: Number(m[2]) * 1e9 }));
  // nccl-tests: busbw = algbw × 2(n-1)/n; the page gives busbw only, so time = size / algbw.
  const factor = (2 * 7) / 8;
  const dir = tmp();
  const log = join(dir, "all_reduce_perf.txt");
  writeFileSync(log, ncclText(published.map((p) => ({ bytes: p.bytes, oop: p.bytes / (p.busbw / factor), ip: p.bytes / (p.busbw / factor) })), factor));
  const { calibration, yaml } = calibrate({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 8, nccl: [{ file: "all_reduce_perf.txt" }], kernels: [], steps: [], baseDir: dir });
  writeFileSync(join(dir, "cal.yaml"), yaml);

  it("has the 24 published rows", () => {
    expect(published).toHaveLength(24);
    expect(published[23]).toEqual({ bytes: 8589934592, busbw: 478.87e9 });
  });

  it("fits the NVLS level: 0.607 of the 450 GB/s link, the catalog's own 0.61 within 1 %", () => {
    const nvls = calibration.fabric!.nvls!;
    expect(nvls.efficiency).toBeCloseTo(NVLS_EFFICIENCY, 2);
    expect(Math.abs(nvls.efficiency / NVLS_EFFICIENCY - 1)).toBeLessThan(0.01);
    expect(nvls.latencySeconds).toBeGreaterThan(0);
    expect(nvls.effectiveBandwidth.spread.relative).toBeLessThan(0.05);
  });

  it("trainsim collective with the calibration reproduces every row at or above 64 MiB within 5 %", () => {
    const cal = readCalibration(join(dir, "cal.yaml"));
    const cluster = calibratedCluster(tableCluster(H100, { table: { file: "", op: "all-reduce", rows: [] }, nodes: 1, gpusPerNode: 8 }), cal, "cal.yaml");
    const big = published.filter((p) => p.bytes >= 64 * MiB);
    expect(big).toHaveLength(8);
    const rows = collectiveTable(buildTopology(cluster), "all-reduce", [0, 1, 2, 3, 4, 5, 6, 7], big.map((p) => p.bytes));
    rows.forEach((r, i) => {
      expect(r.algorithm).toBe("nvls");
      expect(Math.abs(r.busbw / big[i]!.busbw - 1)).toBeLessThan(0.05);
    });
  });

  it("reports a residual for every input row, in the file", () => {
    expect(calibration.residuals).toHaveLength(48);
    expect(yaml).toContain("sha256:");
    expect(yaml).not.toMatch(/20\d\d-\d\d-\d\d/); // date-free
    // Without the calibration, the catalog's A100-measured size curve misses 128 MiB by ~10 %.
    const plain = collectiveTable(buildTopology(tableCluster(H100, { table: { file: "", op: "all-reduce", rows: [] }, nodes: 1, gpusPerNode: 8 })), "all-reduce", [0, 1, 2, 3, 4, 5, 6, 7], [128 * MiB]);
    expect(Math.abs(plain[0]!.busbw / 400.61e9 - 1)).toBeGreaterThan(0.05);
  });
});

describe("recovering known constants from measurements trainsim made", () => {
  const sizes = Array.from({ length: 28 }, (_, i) => 2 ** (i + 6)); // 64 B .. 8 GiB
  const truth: CalibrationFile = {
    trainsimCalibration: 1,
    gpu: "H100-SXM",
    provenance: { tool: "test", method: "", inputs: [] },
    fabric: {
      scaleUp: { effectiveBandwidth: { value: 0.74 * H100.scaleUpBandwidth, spread: { relative: 0, standardError: 0, rows: 0, p5: 0, p95: 0 } }, efficiency: 0.74, latencySeconds: 0, sizeCurve: [[1, 1]] },
      // 0.6 of the NIC: low enough that the NIC, not NVLink, bounds the 2-node ring (else the table cannot see it).
      scaleOut: { effectiveBandwidth: { value: 0.6 * H100.nicBandwidth, spread: { relative: 0, standardError: 0, rows: 0, p5: 0, p95: 0 } }, efficiency: 0.6, latencySeconds: 0, sizeCurve: [[1, 1]] },
    },
    residuals: [],
  };
  const latency = { scaleUp: 22e-6, scaleOut: 41e-6 };

  /** Times of the model with the true constants (flat size curve), plus a fixed latency, times seeded noise. */
  function measure(op: "all-gather" | "all-reduce", nodes: number, extra: number, noise: number, seed: string): string {
    const cluster = calibratedCluster(tableCluster(H100, { table: { file: "", op, rows: [] }, nodes, gpusPerNode: 8 }), truth, "truth");
    const n = nodes * 8;
    const rows = collectiveTable(buildTopology(cluster), op, Array.from({ length: n }, (_, i) => i), sizes);
    const rng = new RandomStreams(seed).stream("calibrate-noise");
    const t = (s: number): number => (s + extra) * (1 + noise * rng.normal(0, 1));
    return ncclText(rows.map((r) => ({ bytes: r.bytes, oop: t(r.seconds), ip: t(r.seconds) })), op === "all-reduce" ? (2 * (n - 1)) / n : (n - 1) / n);
  }

  function fit(noise: number): CalibrationFile {
    const dir = tmp();
    writeFileSync(join(dir, "all_gather_perf.txt"), measure("all-gather", 1, latency.scaleUp, noise, "a"));
    writeFileSync(join(dir, "all_reduce_perf_2n.txt"), measure("all-reduce", 2, latency.scaleOut, noise, "b"));
    return calibrate({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 8, nccl: [{ file: "all_gather_perf.txt" }, { file: "all_reduce_perf_2n.txt", nodes: 2, algorithm: "ring" }], kernels: [], steps: [], baseDir: dir }).calibration;
  }

  it("without noise: scale-up and scale-out bandwidth and latency within 2 %", () => {
    const c = fit(0);
    expect(Math.abs(c.fabric!.scaleUp!.efficiency / 0.74 - 1)).toBeLessThan(0.02);
    expect(Math.abs(c.fabric!.scaleUp!.latencySeconds / latency.scaleUp - 1)).toBeLessThan(0.02);
    expect(Math.abs(c.fabric!.scaleOut!.efficiency / 0.6 - 1)).toBeLessThan(0.02);
    expect(Math.abs(c.fabric!.scaleOut!.latencySeconds / latency.scaleOut - 1)).toBeLessThan(0.02);
  });

  it("with 5 % seeded noise: the bandwidths within their reported spread", () => {
    const c = fit(0.05);
    for (const [level, e] of [["scaleUp", 0.74], ["scaleOut", 0.6]] as const) {
      const f = c.fabric![level]!;
      expect(f.effectiveBandwidth.spread.relative).toBeGreaterThan(0.02); // the noise shows in the spread
      expect(Math.abs(f.efficiency / e - 1)).toBeLessThanOrEqual(f.effectiveBandwidth.spread.relative);
    }
  });

  it("GEMM levels per precision through the shape model, within 2 % and, with noise, within the spread", () => {
    const shapes = [[8192, 8192, 8192], [4096, 4096, 4096], [2048, 2048, 2048], [16384, 8192, 1024], [1024, 2145, 1024], [6144, 12288, 12288], [802816, 192, 768], [4096, 14336, 4096], [512, 4096, 4096]];
    const levels = { bf16: 0.71, fp8: 0.58 };
    const csv = (noise: number): string => {
      const rng = new RandomStreams("gemm").stream("calibrate-noise");
      const lines = ["m,n,k,dtype,seconds"];
      for (const [dtype, level] of Object.entries(levels)) {
        for (const [m, n, k] of shapes) {
          const row = { line: 0, m: m!, n: n!, k: k!, batch: 1, level: dtype as "bf16" | "fp8", flops: 2 * m! * n! * k!, seconds: 0 };
          const s = row.flops / (H100.peakFlops[dtype as "bf16" | "fp8"]! * level * gemmShapeFactor(H100, row));
          lines.push(`${m},${n},${k},${dtype},${s * (1 + noise * rng.normal(0, 1))}`);
        }
      }
      return lines.join("\n") + "\n";
    };
    for (const noise of [0, 0.05]) {
      const dir = tmp();
      writeFileSync(join(dir, "gemm.csv"), csv(noise));
      const c = calibrate({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 8, nccl: [], kernels: ["gemm.csv"], steps: [], baseDir: dir }).calibration;
      for (const [dtype, level] of Object.entries(levels)) {
        const f = c.kernels!.gemm![dtype as "bf16" | "fp8"]!;
        expect(Math.abs(f.value / level - 1)).toBeLessThanOrEqual(noise === 0 ? 0.02 : f.spread.relative);
      }
      expect(c.residuals).toHaveLength(18);
    }
  });
});

describe("measured size curves in the step model", () => {
  it("a group inside a node takes the scale-up curve, one across nodes the scale-out curve, else the catalog's", () => {
    const curves = { scaleUp: [[1, 0.5]] as const, scaleOut: [[1, 0.25]] as const };
    expect(collectiveLoad("all-reduce", 2 ** 20, { size: 8, perNode: 8 }, false, curves).sizeEfficiency).toBe(0.5);
    expect(collectiveLoad("all-reduce", 2 ** 20, { size: 16, perNode: 8 }, false, curves).sizeEfficiency).toBe(0.25);
    expect(collectiveLoad("all-reduce", 2 ** 20, { size: 16, perNode: 8 }, false, { scaleUp: curves.scaleUp }).sizeEfficiency).toBe(sizeEfficiency(2 ** 20));
    expect(collectiveLoad("all-reduce", 2 ** 20, { size: 8, perNode: 8 }).sizeEfficiency).toBe(sizeEfficiency(2 ** 20));
  });
});

describe("kernel CSV and the calibration file", () => {
  it("names the file, line and field of a bad CSV cell", () => {
    expect(() => parseKernelCsv("g.csv", "m,n,k,dtype,tflops\n8192,8192,8192,bf16,700\n8192,x,8192,bf16,700\n")).toThrow(/g.csv:3: n: "x" is not allowed; expected an integer >= 1/);
    expect(() => parseKernelCsv("g.csv", "m,n,k,dtype,tflops\n8192,8192,8192,int4,700\n")).toThrow(/g.csv:2: dtype: "int4" is not allowed/);
    expect(() => parseKernelCsv("a.csv", "batch,heads,seq,head_dim,dtype,seconds,pass\n2,16,8192,128,bf16,0.01,sideways\n")).toThrow(/a.csv:2: pass: "sideways"/);
    const a = parseKernelCsv("a.csv", "batch,heads,seq,head_dim,dtype,tflops,causal\n2,16,8192,128,bf16,400,true\n");
    expect(a.kind).toBe("attention");
    // FlashAttention convention: 4·b·h·s²·d, halved when causal; seconds from TFLOP/s.
    expect(a.rows[0]!.flops).toBe((4 * 2 * 16 * 8192 * 8192 * 128) / 2);
    expect(a.rows[0]!.seconds).toBeCloseTo(a.rows[0]!.flops / 400e12, 15);
  });

  it("a scenario's cluster.calibration replaces the catalog's values, path relative to the scenario", () => {
    const dir = tmp();
    const cal: CalibrationFile = {
      trainsimCalibration: 1,
      gpu: "H100-SXM",
      provenance: { tool: "test", method: "", inputs: [] },
      fabric: { scaleOut: { effectiveBandwidth: { value: 40e9, spread: { relative: 0.03, standardError: 0.01, rows: 9, p5: 38e9, p95: 42e9 } }, efficiency: 0.8, latencySeconds: 2e-5, sizeCurve: [[1048576, 0.3], [8589934592, 1]] } },
      kernels: { gemm: { bf16: { value: 0.5, spread: { relative: 0.02, standardError: 0.01, rows: 5, p5: 0.48, p95: 0.52 } } } },
      residuals: [],
    };
    writeFileSync(join(dir, "my-cluster.yaml"), JSON.stringify(cal));
    writeFileSync(join(dir, "s.yaml"), "cluster: {gpu: H100-SXM, nodes: 2, calibration: my-cluster.yaml, network: {nicBandwidth: 400 Gb/s}}\nworkload: {model: llama3-8b, seqLength: 2048, globalBatch: 16}\nparallelism: {tp: 8, dp: 2}\n");
    const s = loadScenario(join(dir, "s.yaml"));
    expect(s.cluster.gpu.efficiency.gemmPeakFraction).toBe(0.5);
    expect(s.cluster.network.nicBandwidth).toBeCloseTo(40e9 / 0.95, 0);
    expect(s.cluster.gpu.efficiency.collectiveSizeCurves?.scaleOut).toEqual([[1048576, 0.3], [8589934592, 1]]);
    expect(s.cluster.gpu.sources["efficiency.gemmPeakFraction"]).toContain("my-cluster.yaml");
    writeFileSync(join(dir, "bad.yaml"), "cluster: {gpu: A100-80GB, nodes: 1, calibration: my-cluster.yaml}\nworkload: {model: llama3-8b, seqLength: 2048, globalBatch: 8}\nparallelism: {tp: 8}\n");
    expect(() => loadScenario(join(dir, "bad.yaml"))).toThrow(/cluster.calibration: "my-cluster.yaml" was fitted on H100-SXM, not A100-80GB/);
    expect(applyCalibration(H100, cal, "x").efficiency.gemmPeakFraction).toBe(0.5);
    // run --uncertainty samples the fitted constants over p5..p95 of one measurement about the
    // fit (1.645 x the residual sigma), not the catalog's spreads; the others keep the catalog's.
    const constants = new Map(uncertainConstants(s).map((c) => [c.path, c]));
    expect(constants.get("efficiency.gemmPeakFraction")).toMatchObject({ value: 0.5, low: -1.645 * 0.02, high: 1.645 * 0.02 });
    expect(constants.get("efficiency.gemmPeakFraction")?.source).toContain("my-cluster.yaml");
    expect(constants.get(NIC_LINK)).toMatchObject({ low: -1.645 * 0.03, high: 1.645 * 0.03 });
    expect(constants.get("efficiency.hbmPeakFraction")?.source).toBe(spreadOf(H100, "efficiency.hbmPeakFraction").source);
  });

  it("calibrate refuses unreadable input with a named file", () => {
    expect(() => calibrate({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 8, nccl: [{ file: "missing.txt" }], kernels: [], steps: [], baseDir: tmp() })).toThrow(CalibrationInputError);
    expect(() => calibrate({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 8, nccl: [{ file: "missing.txt" }], kernels: [], steps: [], baseDir: tmp() })).toThrow(/missing.txt: cannot read/);
  });
});
