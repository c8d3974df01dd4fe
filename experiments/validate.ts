/**
 * `trainsim validate`: run every published case under experiments/published
 * and compare the simulated figure with the published one.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runScenario, type RunResult } from "../models/run.ts";
import type { ValidationRow } from "../models/results.ts";
import type { Scenario } from "../models/scenario.ts";
import { hardwareFlopsPerStep } from "../models/workload/flops.ts";
import { loadScenario, type LoadedScenario } from "./load.ts";

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
};

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
  const { result } = runScenario(s);
  const predicted = metric.read(s, result);
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
  };
}

export interface ValidationSummary {
  cases: number;
  medianAbsError: number;
  maxAbsError: number;
}

export function summarise(rows: ValidationRow[]): ValidationSummary {
  const abs = rows.map((r) => Math.abs(r.error)).sort((a, b) => a - b);
  const mid = abs.length === 0 ? 0 : abs.length % 2 === 1 ? (abs[(abs.length - 1) / 2] as number) : ((abs[abs.length / 2 - 1] as number) + (abs[abs.length / 2] as number)) / 2;
  return { cases: rows.length, medianAbsError: mid, maxAbsError: abs.length ? (abs[abs.length - 1] as number) : 0 };
}
