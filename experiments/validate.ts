/**
 * `trainsim validate`: run every published case under experiments/published
 * and compare the simulated figure with the published one.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runScenario, type RunResult } from "../models/run.ts";
import { workProblem } from "./work-limits.ts";
import type { ValidationRow } from "../models/results.ts";
import type { Scenario } from "../models/scenario.ts";
import { hardwareFlopsPerStep, modelFlopsPerStep, stepFlopCounts } from "../models/workload/flops.ts";
import { stepHardwareFlops } from "../models/workload/remat-flops.ts";
import { outOfMemory, peakMemory } from "../models/workload/memory.ts";
import { ConfigError } from "./errors.ts";
import { loadScenario, type LoadedScenario } from "./load.ts";
import { VALIDATION_CATEGORIES } from "./schema.ts";

export const PUBLISHED_DIR = join(dirname(fileURLToPath(import.meta.url)), "published");

/** Metrics a published case may name, and how to read them off a run. */
export const METRICS: Readonly<Record<string, { unit: string; describe: string; read: (s: Scenario, r: RunResult) => number }>> = {
  stepSeconds: { unit: "s", describe: "seconds per optimizer step", read: (_s, r) => r.stepSeconds },
  tflopsPerGpu: { unit: "TFLOP/s", describe: "model TFLOP/s per GPU (MFU convention)", read: (_s, r) => r.tflopsPerGpu },
  mfu: { unit: "", describe: "model FLOPs utilisation", read: (_s, r) => r.mfu },
  tokensPerSecond: { unit: "tokens/s", describe: "training tokens per second", read: (_s, r) => r.tokensPerSecond },
  unexpectedInterruptions: { unit: "", describe: "unexpected job interruptions over the run", read: (_s, r) => r.interruptions?.unexpected ?? 0 },
  goodput: { unit: "", describe: "share of wall-clock time on steps that were kept", read: (_s, r) => r.goodput ?? 1 },
  tflopsPerGpuNarayanan: {
    unit: "TFLOP/s",
    describe: "TFLOP/s per GPU by Narayanan et al. 2021 Eq. 3 (counts a recomputed forward pass)",
    read: (s, r) => hardwareFlopsPerStep(s.workload, "full") / r.stepSeconds / r.gpus / 1e12,
  },
  tflopsPerGpuHardware: {
    unit: "TFLOP/s",
    describe: "hardware TFLOP/s per GPU: model FLOPs plus the recomputed ones (HFU convention, as FSDP and DeepSpeed papers count with activation checkpointing)",
    read: (s, r) => stepHardwareFlops(s) / r.stepSeconds / r.gpus / 1e12,
  },
  tflopsPerGpuCausal: {
    unit: "TFLOP/s",
    describe: "model TFLOP/s per GPU counting causal attention as half of the s x s scores (Megatron-LM's --log-throughput since 2025; MaxText since its PR #1988)",
    read: (s, r) => (modelFlopsPerStep(s.workload) - 1.5 * stepFlopCounts(s.workload).attentionForward) / r.stepSeconds / r.gpus / 1e12,
  },
  tokensPerSecondPerGpu: { unit: "tokens/s", describe: "training tokens per second per GPU", read: (_s, r) => r.tokensPerSecond / r.gpus },
  samplesPerSecond: { unit: "samples/s", describe: "sequences (samples) per second over the whole job", read: (s, r) => s.workload.globalBatch / r.stepSeconds },
};

export type ValidationCategory = (typeof VALIDATION_CATEGORIES)[number];

/** Scenario files of published cases below `dir` (files starting with "_" are shared bases). */
export function publishedCaseFiles(dir = PUBLISHED_DIR): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ya?ml|json)$/.test(entry) && !entry.startsWith("_")) out.push(path);
    }
  };
  walk(dir);
  return out;
}

export function validateCase(file: string, now: () => number = () => 0): ValidationRow {
  const s: LoadedScenario = loadScenario(file);
  if (s.published === undefined) throw new Error(`${file}: a published case needs a 'published: {metric, value}' block`);
  const metric = METRICS[s.published.metric];
  if (metric === undefined) {
    throw new Error(`${file}: published.metric ${JSON.stringify(s.published.metric)} is not one of ${Object.keys(METRICS).join(", ")}`);
  }
  const t0 = now();
  const oom = outOfMemory(s);
  const peakBreakdown = peakMemory(s);
  const peak = peakBreakdown.total;
  // An allocator peak holds tensors only: not the CUDA context and NCCL buffers (memory.buffers).
  const comparable = s.published.memoryMeasure === "allocator" ? peak - peakBreakdown.buffers : peak;
  let predicted = Number.NaN;
  let failed: string | undefined;
  const work = workProblem(s);
  if (work !== null) failed = work;
  else {
    try {
      predicted = metric.read(s, runScenario(s).result);
    } catch (err) {
      failed = err instanceof Error ? err.message : String(err);
    }
  }
  const published = s.published.memoryBytesPerGpu;
  return {
    name: s.name,
    file: relative(process.cwd(), file),
    source: s.source ?? "",
    metric: s.published.metric,
    unit: metric.unit,
    published: s.published.value,
    predicted,
    error: (predicted - s.published.value) / s.published.value,
    simulatedSeconds: now() - t0,
    categories: [...(s.published.categories ?? [])],
    ...(oom !== null ? { refused: { memoryBytesPerGpu: peak, capacityBytes: s.cluster.gpu.hbmBytes, message: oom } } : {}),
    ...(failed !== undefined ? { failed } : {}),
    ...(published !== undefined ? { memory: { published, predicted: comparable, error: (comparable - published) / published } } : {}),
  };
}

export interface ValidationSummary {
  cases: number;
  /** Over the cases that ran (neither refused nor failed). */
  medianAbsError: number;
  maxAbsError: number;
  /** Cases the memory model refuses (not in the medians). */
  refused: number;
  /** Cases whose simulation threw (not in the medians). */
  failed: number;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return 0;
  return n % 2 === 1 ? (sorted[(n - 1) / 2] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2;
}

export function summarise(rows: readonly ValidationRow[]): ValidationSummary {
  const scored = rows.filter((r) => r.refused === undefined && r.failed === undefined);
  const abs = scored.map((r) => Math.abs(r.error)).sort((a, b) => a - b);
  return {
    cases: rows.length,
    medianAbsError: median(abs),
    maxAbsError: abs.length ? (abs[abs.length - 1] as number) : 0,
    refused: rows.filter((r) => r.refused !== undefined).length,
    failed: rows.filter((r) => r.refused === undefined && r.failed !== undefined).length,
  };
}

/** One summary per category that has cases (of `only`, when given and not empty), in the order of VALIDATION_CATEGORIES. */
export function summariseByCategory(rows: readonly ValidationRow[], only: readonly string[] = []): Record<string, ValidationSummary> {
  const out: Record<string, ValidationSummary> = {};
  for (const c of VALIDATION_CATEGORIES) {
    if (only.length > 0 && !only.includes(c)) continue;
    const inCategory = rows.filter((r) => r.categories.includes(c));
    if (inCategory.length > 0) out[c] = summarise(inCategory);
  }
  return out;
}

export interface MemorySummary {
  cases: number;
  medianAbsError: number;
  maxAbsError: number;
}

/** Predicted against published peak memory per GPU, over the cases whose source states it. */
export function summariseMemory(rows: readonly ValidationRow[]): MemorySummary {
  const abs = rows.flatMap((r) => (r.memory === undefined ? [] : [Math.abs(r.memory.error)])).sort((a, b) => a - b);
  return { cases: abs.length, medianAbsError: median(abs), maxAbsError: abs.length ? (abs[abs.length - 1] as number) : 0 };
}

/** `--category a,b --category c` → [a, b, c], each checked against VALIDATION_CATEGORIES. */
export function parseCategories(values: readonly string[]): ValidationCategory[] {
  const names = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  const allowed: readonly string[] = VALIDATION_CATEGORIES;
  const bad = names.filter((n) => !allowed.includes(n));
  if (bad.length > 0) {
    const message = `--category ${JSON.stringify(bad[0])} is not allowed; expected one of ${VALIDATION_CATEGORIES.join(", ")} (several: repeat --category or separate with commas)`;
    throw new ConfigError([{ path: "--category", value: bad[0], message }], "validate");
  }
  return [...new Set(names)] as ValidationCategory[];
}

export interface ValidationSelection {
  /** Only cases whose name contains this text. */
  only?: string;
  /** Only cases in at least one of these categories (empty or absent: all). */
  categories?: readonly string[];
}

/** The published case files a selection picks (loads each to read its name and categories). */
export function selectCases(selection: ValidationSelection, files: readonly string[] = publishedCaseFiles()): string[] {
  const wanted = selection.categories ?? [];
  return files.filter((file) => {
    const s = loadScenario(file);
    if (selection.only !== undefined && !s.name.includes(selection.only)) return false;
    return wanted.length === 0 || (s.published?.categories ?? []).some((c) => wanted.includes(c));
  });
}
