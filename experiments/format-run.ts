/**
 * Human-readable output of `trainsim run` and `trainsim validate`: what a
 * student reads first, so every figure says its unit and what it means.
 */
import { peakFlops } from "../models/compute/kernel.ts";
import type { RunResult } from "../models/run.ts";
import type { Scenario } from "../models/scenario.ts";
import { CATEGORIES, dominantCategory, type Category } from "../models/categories.ts";
import { microBatchesPerStep } from "../models/parallel/plan.ts";
import { gib as gibOf, group, percent } from "../reports/format.ts";
import { formatQuantity } from "./units.ts";
import type { ValidationRow } from "../models/results.ts";
import type { MemorySummary, ValidationSummary } from "./validate.ts";

const CATEGORY_MEANING: Readonly<Record<Category, string>> = {
  compute: "kernels limited by the SMs (math)",
  hbm: "kernels limited by HBM bandwidth",
  nvlink: "waiting on NVLink / scale-up transfers",
  network: "waiting on NICs and the scale-out fabric",
  power: "slowed by power capping",
  bubble: "idle: pipeline bubble or imbalance",
  data: "waiting for input data",
  failure: "lost to failures and restarts",
  checkpoint: "writing checkpoints",
};

function bar(share: number, width = 30): string {
  const full = Math.round(share * width);
  return "█".repeat(full) + "·".repeat(width - full);
}

export function formatRun(s: Scenario, r: RunResult): string {
  const p = s.parallelism;
  const m = s.workload.model;
  const gib = (b: number): string => gibOf(b).toFixed(1);
  const lines: string[] = [];
  lines.push(`${s.name}: ${m.name} on ${group(r.gpus)} × ${s.cluster.gpu.name} (${s.cluster.nodes} nodes × ${s.cluster.gpusPerNode})`);
  lines.push(
    `plan: tp ${p.tp} · pp ${p.pp}${p.virtualStages > 1 ? ` (${p.virtualStages} chunks per rank)` : ""} · dp ${p.dp} · cp ${p.cp}${m.experts > 1 ? ` · ep ${p.ep}` : ""} · ` +
      `${microBatchesPerStep(s)} micro-batches of ${p.microBatch} per step · ZeRO-${p.zero} · recompute ${p.recompute}${p.recomputeModules !== undefined ? ` [${p.recomputeModules.join(", ")}]` : ""}${p.tp > 1 ? ` · sequence parallel ${p.sequenceParallel ? "on" : "off"}` : ""}`,
  );
  lines.push(`simulated        ${r.simulation.mode}: ${r.simulation.reason} · ${group(r.simulation.events)} events`);
  lines.push("");
  const peak = peakFlops(s.cluster.gpu, s.workload.precision);
  lines.push(`step time        ${formatQuantity(r.stepSeconds, "time")}${r.steps > 1 ? `   (${r.steps} steps: ${formatQuantity(r.wallclockSeconds, "time")})` : ""}`);
  lines.push(`throughput       ${group(r.tokensPerSecond)} tokens/s`);
  lines.push(`per GPU          ${r.tflopsPerGpu.toFixed(0)} TFLOP/s of model math   MFU ${percent(r.mfu)}   HFU ${percent(r.hfu)}`);
  lines.push(`                 (MFU = model FLOPs per second / dense ${s.workload.precision.toUpperCase()} peak ${(peak / 1e12).toFixed(0)} TFLOP/s, as PaLM and Llama 3 count it; HFU adds recomputation)`);
  const mem = r.memory;
  lines.push(
    `memory per GPU   ${gib(r.memoryBytesPerGpu)} GiB of ${gib(r.memoryCapacityBytes)} GiB (stage ${mem.stage}: weights ${gib(mem.weights)}, gradients ${gib(mem.gradients)}, ` +
      `optimizer ${gib(mem.optimizer)}, activations ${gib(mem.activations)}, buffers ${gib(mem.buffers)}` +
      `${mem.gatheredUnits !== undefined ? `, gathered FSDP units ${gib(mem.gatheredUnits)}` : ""})`,
  );
  if (mem.hostBytes !== undefined) {
    lines.push(`                 plus ${gib(mem.hostBytes)} GiB per GPU in host memory (offloaded optimizer state / activations; their PCIe copies and CPU-Adam are in the step time)`);
  }
  if (m.unpaddedVocab !== undefined) {
    lines.push(`vocabulary       ${group(m.unpaddedVocab)} padded to ${group(m.vocab)} (a multiple of workload.vocabDivisibleBy × tp ${p.tp}, as Megatron-LM pads it); the padded rows count in memory, FLOPs and time`);
  }
  const mr = r.moeRouting;
  if (mr !== undefined) {
    const how = mr.padToCapacity === true ? `padded to capacity ${mr.capacityFactor}` : `${mr.distribution}${mr.capacityFactor !== undefined ? `, capacity factor ${mr.capacityFactor}` : ", dropless"}`;
    lines.push(`MoE routing      ${how}: the busiest expert-parallel rank computes ${mr.busiestRankLoad.toFixed(3)}× a balanced share; ${percent(mr.keptShare)} of routed copies kept`);
  }
  const pw = r.power;
  lines.push(
    `power            ${r.gpuPowerWatts.toFixed(0)} W per GPU on average; facility ${formatQuantity(r.facilityPowerWatts.mean, "power")} mean, ` +
      `${formatQuantity(r.facilityPowerWatts.peak, "power")} peak${pw.facilityCapWatts !== undefined ? ` (cap ${formatQuantity(pw.facilityCapWatts, "power")}, GPUs held to ${pw.gpuLimitWatts?.toFixed(0)} W)` : ""}`,
  );
  const cost = [pw.costPerStep !== undefined ? `cost ${pw.costPerStep.toFixed(2)} per step` : "", pw.co2GramsPerStep !== undefined ? `${(pw.co2GramsPerStep / 1000).toFixed(1)} kg CO2 per step` : ""].filter(Boolean).join(", ");
  lines.push(`energy           ${formatQuantity(r.energyJoulesPerStep, "energy")} per step, ${(pw.energyJoulesPerToken).toFixed(2)} J per token${cost ? `; ${cost}` : ""}`);
  const swing = pw.swings.find((w) => w.windowSeconds === 0.1) ?? pw.swings[pw.swings.length - 1];
  if (swing !== undefined) {
    lines.push(
      `power swing      largest drop within ${formatQuantity(swing.windowSeconds, "time")}: ${formatQuantity(swing.dropWatts, "power")} (${percent(swing.dropShare)} of peak) at ${formatQuantity(swing.dropAt, "time")}; ` +
        `largest rise ${formatQuantity(swing.riseWatts, "power")} (${percent(swing.riseShare)})` +
        (pw.storage !== undefined ? `; with storage: drop ${formatQuantity(pw.storage.swings.find((w) => w.windowSeconds === swing.windowSeconds)?.dropWatts ?? 0, "power")}` : ""),
    );
  }
  const lr = r.longRun;
  if (lr !== undefined) {
    const causes = Object.entries(lr.interruptions.byCause)
      .filter(([, n]) => n > 0)
      .map(([c, n]) => `${c} ${n}`)
      .join(", ");
    lines.push(
      `long run         ${formatQuantity(lr.wallclockSeconds, "time")} simulated: goodput ${percent(lr.goodput)}, ${group(lr.stepsKept)} steps kept (${(lr.tokensTrained / 1e9).toFixed(1)}B tokens)` +
        (lr.timeToTrainSeconds !== undefined ? `, target reached after ${formatQuantity(lr.timeToTrainSeconds, "time")}` : ""),
    );
    lines.push(`interruptions    ${lr.interruptions.unexpected} unexpected (${causes || "none"}), ${lr.interruptions.planned} planned; job MTBF ${formatQuantity(lr.mtbfSeconds, "time")}`);
    lines.push(
      `checkpoints      every ${formatQuantity(lr.checkpoint.intervalSeconds, "time")} of training (${formatQuantity(lr.checkpoint.bytes, "bytes")}, ${formatQuantity(lr.checkpoint.stallSeconds, "time")} stall): ` +
        `${group(lr.checkpoint.count)} written; ${group(lr.lostGpuHours)} GPU-hours lost to failures, restarts and checkpoints`,
    );
  }
  lines.push("");
  lines.push(lr !== undefined ? "where the time goes (share of every GPU's time over the whole run):" : "where the step goes (share of every GPU's step time):");
  const shown = CATEGORIES.filter((c) => r.breakdown[c] > 0.0005);
  const top = dominantCategory(r.breakdown);
  for (const c of shown) {
    lines.push(`  ${c.padEnd(10)} ${bar(r.breakdown[c])} ${percent(r.breakdown[c]).padStart(7)}  ${CATEGORY_MEANING[c]}`);
  }
  lines.push(`bottleneck: ${top} — ${CATEGORY_MEANING[top]}`);
  return lines.join("\n");
}

export function formatValidation(
  rows: ValidationRow[],
  summary: ValidationSummary,
  byCategory: Readonly<Record<string, ValidationSummary>> = {},
  memory?: MemorySummary,
): string {
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
  const signed = (e: number): string => (Number.isNaN(e) ? "—" : `${e >= 0 ? "+" : ""}${(100 * e).toFixed(1)} %`);
  const head = ["case", "metric", "published", "predicted", "error", "note"];
  const fmt = (x: number, unit: string): string => (Number.isNaN(x) ? "—" : unit === "" ? x.toFixed(3) : `${x.toPrecision(4)} ${unit}`);
  const note = (r: ValidationRow): string => {
    const parts: string[] = [];
    if (r.refused !== undefined) parts.push(`REFUSED: needs ${gib(r.refused.memoryBytesPerGpu)} of ${gib(r.refused.capacityBytes)} (simulated anyway, not in medians)`);
    if (r.failed !== undefined) parts.push(`FAILED: ${r.failed}`);
    if (r.memory !== undefined) parts.push(`memory ${gib(r.memory.predicted)} vs ${gib(r.memory.published)} published (${signed(r.memory.error)})`);
    return parts.join("; ");
  };
  const body = rows.map((r) => [r.name, r.metric, fmt(r.published, r.unit), fmt(r.predicted, r.unit), signed(r.error), note(r)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : i >= 2 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  // Medians are over the cases that ran; a group whose every case was refused or failed has none.
  const errors = (s: ValidationSummary, width: number): string =>
    s.cases - s.refused - s.failed === 0
      ? "no case ran"
      : `median ${(100 * s.medianAbsError).toFixed(1).padStart(width)} %, worst ${(100 * s.maxAbsError).toFixed(1).padStart(width)} %`;
  const counts = (s: ValidationSummary): string => (s.refused > 0 ? `, refused ${s.refused}` : "") + (s.failed > 0 ? `, failed ${s.failed}` : "");
  const out = [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line), ""];
  const names = Object.keys(byCategory);
  if (names.length > 0) {
    const w = Math.max(...names.map((n) => n.length));
    out.push("per category (median and worst |error| over the cases that ran):");
    for (const n of names) {
      const s = byCategory[n] as ValidationSummary;
      out.push(`  ${n.padEnd(w)}  ${String(s.cases).padStart(3)} cases: ${errors(s, 5)}${counts(s)}`);
    }
  }
  if (memory !== undefined && memory.cases > 0) {
    out.push(`peak memory per GPU where the source states it: ${memory.cases} cases, median |error| ${(100 * memory.medianAbsError).toFixed(1)} %, worst ${(100 * memory.maxAbsError).toFixed(1)} %`);
  }
  if (names.length > 0 || (memory !== undefined && memory.cases > 0)) out.push("");
  out.push(`${summary.cases} cases: ${errors(summary, 0).replace("median", "median |error|")}${counts(summary)}`);
  return out.join("\n");
}
