import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { formatValidation } from "../../experiments/format-run.ts";
import { loadScenario } from "../../experiments/load.ts";
import { VALIDATION_CATEGORIES } from "../../experiments/schema.ts";
import {
  METRICS,
  parseCategories,
  publishedCaseFiles,
  selectCases,
  summarise,
  summariseByCategory,
  summariseMemory,
  validateCase,
} from "../../experiments/validate.ts";
import type { RunResult } from "../../models/run.ts";
import type { ValidationRow } from "../../models/results.ts";
import { modelFlopsPerStep } from "../../models/workload/flops.ts";

const row = (name: string, error: number, categories: string[], extra: Partial<ValidationRow> = {}): ValidationRow => ({
  name,
  file: `${name}.yaml`,
  source: "hand-made",
  metric: "stepSeconds",
  unit: "s",
  published: 10,
  predicted: 10 * (1 + error),
  error,
  simulatedSeconds: 0,
  categories,
  ...extra,
});

const refused = { memoryBytesPerGpu: 100 * 2 ** 30, capacityBytes: 80 * 2 ** 30, message: "needs 100.0 GiB" };

// Hand-made rows: fsdp has |errors| 0.10, 0.30, 0.05 and one refused case (error 0.90, left out);
// small has 0.30, -0.20 (|0.20|), 0.05; fp8 has only the refused one.
const rows: ValidationRow[] = [
  row("a", 0.1, ["fsdp"]),
  row("b", -0.3, ["fsdp", "small"]),
  row("c", 0.05, ["fsdp", "small"]),
  row("d", 0.9, ["fsdp", "fp8"], { refused }),
  row("e", -0.2, ["small"]),
];

describe("validation summaries", () => {
  it("takes median and worst |error| over the cases that ran, and counts the refused apart", () => {
    const all = summarise(rows);
    // |errors| that ran: 0.05, 0.1, 0.2, 0.3 -> median (0.1 + 0.2) / 2 = 0.15, worst 0.3.
    expect(all.cases).toBe(5);
    expect(all.medianAbsError).toBeCloseTo(0.15, 12);
    expect(all.maxAbsError).toBeCloseTo(0.3, 12);
    expect(all.refused).toBe(1);
    expect(all.failed).toBe(0);
  });

  it("summarises each category that has cases, in the order of the category list", () => {
    const by = summariseByCategory(rows);
    expect(Object.keys(by)).toEqual(["fp8", "fsdp", "small"]);
    // fsdp: 0.05, 0.1, 0.3 ran -> median 0.1, worst 0.3; d refused.
    expect(by["fsdp"]).toEqual({ cases: 4, medianAbsError: 0.1, maxAbsError: 0.3, refused: 1, failed: 0 });
    // small: 0.05, 0.2, 0.3 -> median 0.2.
    expect(by["small"]!.medianAbsError).toBeCloseTo(0.2, 12);
    expect(by["small"]!.maxAbsError).toBeCloseTo(0.3, 12);
    expect(by["small"]!.refused).toBe(0);
    // fp8: nothing ran.
    expect(by["fp8"]).toEqual({ cases: 1, medianAbsError: 0, maxAbsError: 0, refused: 1, failed: 0 });
    expect(Object.keys(summariseByCategory(rows, ["small"]))).toEqual(["small"]);
  });

  it("counts a case whose simulation threw as failed, not in the medians", () => {
    const s = summarise([row("x", 0.4, ["small"]), row("y", Number.NaN, ["small"], { failed: "boom", predicted: Number.NaN })]);
    expect(s).toEqual({ cases: 2, medianAbsError: 0.4, maxAbsError: 0.4, refused: 0, failed: 1 });
  });

  it("summarises peak memory against the published figure where a source states one", () => {
    const m = summariseMemory([
      row("m1", 0, [], { memory: { published: 40e9, predicted: 44e9, error: 0.1 } }),
      row("m2", 0, [], { memory: { published: 40e9, predicted: 30e9, error: -0.25 } }),
      row("m3", 0, []),
    ]);
    expect(m.cases).toBe(2);
    expect(m.medianAbsError).toBeCloseTo(0.175, 12);
    expect(m.maxAbsError).toBeCloseTo(0.25, 12);
  });

  it("prints each category's median and worst, refused counts, and marks refused rows", () => {
    const text = formatValidation(rows, summarise(rows), summariseByCategory(rows), summariseMemory(rows));
    expect(text).toMatch(/fsdp\s+4 cases: median\s+10\.0 %, worst\s+30\.0 %, refused 1/);
    expect(text).toMatch(/small\s+3 cases: median\s+20\.0 %, worst\s+30\.0 %/);
    expect(text).toMatch(/fp8\s+1 cases: no case ran, refused 1/);
    expect(text).toMatch(/^d .*REFUSED: needs 100\.0 GiB of 80\.0 GiB/m);
    expect(text.trimEnd().split("\n").at(-1)).toBe("5 cases: median |error| 15.0 %, worst 30.0 %, refused 1");
  });
});

describe("--category", () => {
  it("reads comma lists and repeated options, once each", () => {
    expect(parseCategories(["fsdp,small", "fp8", " small "])).toEqual(["fsdp", "small", "fp8"]);
    expect(parseCategories([])).toEqual([]);
  });

  it("rejects an unknown category, naming it and what is allowed", () => {
    expect(() => parseCategories(["fsdp,fp4"])).toThrow(ConfigError);
    expect(() => parseCategories(["fp4"])).toThrow(/--category "fp4" is not allowed; expected one of dense-bf16, fp8, fsdp, small, long-context, reliability/);
  });

  it("selects the published cases of the categories asked for, and --only within them", () => {
    const reliability = selectCases({ categories: ["reliability"] });
    expect(reliability.map((f) => loadScenario(f).name)).toEqual(["llama3-405b-54d"]);
    const fp8 = selectCases({ categories: ["fp8"] });
    expect(fp8.length).toBeGreaterThanOrEqual(8);
    for (const f of fp8) expect(loadScenario(f).published?.categories, f).toContain("fp8");
    const both = selectCases({ categories: ["fp8", "reliability"] });
    expect(both.length).toBe(fp8.length + 1);
    expect(selectCases({ categories: ["small"], only: "narayanan2021" }).map((f) => loadScenario(f).name)).toEqual([
      "narayanan2021-gpt-1.7b",
      "narayanan2021-gpt-3.6b",
      "narayanan2021-gpt-7.5b",
    ]);
    expect(selectCases({}).length).toBe(publishedCaseFiles().length);
  });
});

describe("published cases", () => {
  const files = publishedCaseFiles();
  const allowed: readonly string[] = VALIDATION_CATEGORIES;

  it("each loads, names its source, a known metric and at least one allowed category", () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    for (const f of files) {
      const s = loadScenario(f);
      expect(s.source ?? "", f).not.toBe("");
      expect(Object.keys(METRICS), f).toContain(s.published?.metric);
      const categories = s.published?.categories ?? [];
      expect(categories.length, f).toBeGreaterThan(0);
      for (const c of categories) expect(allowed, `${f}: ${c}`).toContain(c);
    }
  });

  it("has at least 40 cases beyond the original 20, and each category of issue 23 is populated", () => {
    const count = (c: string): number => files.filter((f) => loadScenario(f).published?.categories?.includes(c)).length;
    expect(files.length - 20).toBeGreaterThanOrEqual(40);
    for (const c of ["dense-bf16", "fp8", "fsdp", "small", "long-context"]) expect(count(c), c).toBeGreaterThanOrEqual(8);
    expect(count("reliability")).toBe(1);
  });
});

describe("published cases of issue 27 (MoE and the newest hardware)", () => {
  const files = publishedCaseFiles();
  const categoriesOf = (f: string): readonly string[] => loadScenario(f).published?.categories ?? [];

  it("each new category has cases, and at least 20 runs are new in them beyond the four MI300X torchao cases", () => {
    const count = (c: string): number => files.filter((f) => categoriesOf(f).includes(c)).length;
    expect(count("moe")).toBeGreaterThanOrEqual(5);
    expect(count("blackwell")).toBeGreaterThanOrEqual(10);
    expect(count("tpu")).toBeGreaterThanOrEqual(3);
    expect(count("amd")).toBeGreaterThanOrEqual(4);
    const inNew = files.filter((f) => categoriesOf(f).some((c) => ["moe", "blackwell", "tpu", "amd"].includes(c)));
    expect(inNew.length - 4).toBeGreaterThanOrEqual(20);
  });

  it("every case file names its source and opens with a comment citing it", () => {
    for (const f of files) {
      expect(loadScenario(f).source ?? "", f).not.toBe("");
      const header = readFileSync(f, "utf8").split("\n").filter((line, i, all) => all.slice(0, i + 1).every((l) => l.startsWith("#")));
      expect(header.length, `${f}: leading comment lines`).toBeGreaterThan(0);
    }
  });

  it("tflopsPerGpuCausal counts half the attention scores: Mixtral 8x22B, batch 256 x 4096, hand-computed", () => {
    const f = files.find((x) => x.endsWith("megatron-moe-modelzoo/mixtral-8x22b-h100-dropless.yaml"))!;
    const s = loadScenario(f);
    const r = { stepSeconds: 2, gpus: 128 } as RunResult;
    // Attention score and weighted-sum matmuls, forward: 56 layers x 4 x 256 x 4096^2 x 6144 = 5,910,974,510,923,776 FLOPs;
    // forward + backward x 3, half of it (the causal mask) = 8,866,461,766,385,664, over 2 s and 128 GPUs = 34.6346 TFLOP/s.
    const full = modelFlopsPerStep(s.workload) / 2 / 128 / 1e12;
    expect(full - METRICS["tflopsPerGpuCausal"]!.read(s, r)).toBeCloseTo(34.634616274944, 9);
  });
});

describe("a case the memory model refuses", () => {
  it("becomes a refused row with its memory figure and capacity instead of aborting", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-validate-"));
    const file = join(dir, "too-big.yaml");
    // GPT-3 175B on one node of A100 80GB, tp 8, no ZeRO: optimizer state alone is ~255 GiB per GPU.
    writeFileSync(
      file,
      [
        "name: too-big",
        "source: hand-made test case",
        "published: {metric: stepSeconds, value: 10, categories: [dense-bf16], memoryPerGpu: 80 GB}",
        "cluster: {gpu: A100-80GB, nodes: 1}",
        "workload: {model: gpt3-175b, seqLength: 2048, globalBatch: 8}",
        "parallelism: {tp: 8, zero: 0, recompute: full}",
      ].join("\n"),
    );
    const r = validateCase(file);
    expect(r.refused).toBeDefined();
    expect(r.refused!.capacityBytes).toBe(80 * 2 ** 30);
    expect(r.refused!.memoryBytesPerGpu).toBeGreaterThan(r.refused!.capacityBytes);
    expect(r.refused!.message).toMatch(/needs .* GiB per GPU/);
    expect(r.categories).toEqual(["dense-bf16"]);
    expect(r.memory?.published).toBe(80e9);
    expect(r.memory?.predicted).toBe(r.refused!.memoryBytesPerGpu);
    expect(summarise([r])).toMatchObject({ cases: 1, refused: 1 });
  });

  it("the schema rejects an unknown category, naming the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-validate-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "published: {metric: mfu, value: 0.4, categories: [fsdp, fp4]}\ncluster: {gpu: H100-SXM, nodes: 1}\nworkload: {model: llama3-8b, seqLength: 8192, globalBatch: 8}\n");
    expect(() => loadScenario(file)).toThrow(/published\.categories\.1.*"fp4".*expected one of "dense-bf16"/);
  });
});
