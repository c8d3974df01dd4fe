/**
 * What `trainsim plan` prints (the table of the best layouts) and writes (--json, --write).
 */
import { isAbsolute, resolve } from "node:path";
import { stringify as toYaml } from "yaml";
import { gib, group, percent } from "../../reports/format.ts";
import { isPlainObject } from "../schema.ts";
import { layoutParallelism } from "./space.ts";
import { layoutScenario, objectiveGain, type PlanEntry, type PlanResult } from "./search.ts";

/** Optional columns: cost per million tokens when the scenario gives prices, goodput when it has reliability:. */
interface Extra {
  cost: boolean;
  goodput: boolean;
}

function row(e: PlanEntry, extra: Extra): string[] {
  return [
    String(e.rank),
    e.baseline ? `${e.key} *` : e.key,
    `${e.stepSeconds.toFixed(3)} s`,
    group(Math.round(e.tokensPerSecond)),
    percent(e.mfu),
    `${gib(e.memoryBytesPerGpu).toFixed(1)} / ${gib(e.memoryCapacityBytes).toFixed(0)} GiB`,
    e.energyJoulesPerToken.toPrecision(3),
    ...(extra.cost ? [e.costPerToken !== undefined ? (e.costPerToken * 1e6).toPrecision(3) : "-"] : []),
    ...(extra.goodput ? [e.goodput !== undefined ? percent(e.goodput) : "-", e.goodputTokensPerSecond !== undefined ? group(Math.round(e.goodputTokensPerSecond)) : "-"] : []),
    `${e.bottleneck.category} ${percent(e.bottleneck.share, 0)}`,
  ];
}

function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const last = (rows[0] as string[]).length - 1;
  return rows.map((r) => r.map((c, i) => (i === 1 || i === last ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd()).join("\n");
}

/** The text summary: counts, the top N (and the scenario's layout if it is not among them), why the best wins. */
export function formatPlan(r: PlanResult, top: number): string {
  const c = r.counts;
  const lines = [
    `${r.scenario}: ${r.gpus} GPUs, objective ${r.objective}`,
    `layouts: ${c.considered} considered; refused: ${c.divisibility} divisibility, ${c.memory} memory${r.memoryHeadroom > 0 ? ` (${Math.round(r.memoryHeadroom * 1000) / 10} % left free)` : ""}; ${c.bound} dropped by the lower bound; ${c.simulated} simulated` +
      (c.loader > 0 ? ` (${c.loader} refused by the loader)` : "") +
      (c.failed > 0 ? ` (${c.failed} failed)` : ""),
    "",
  ];
  const extra: Extra = { cost: r.ranking.some((e) => e.costPerToken !== undefined), goodput: r.ranking.some((e) => e.goodput !== undefined) };
  const header = ["#", "layout", "step", "tokens/s", "MFU", "memory/GPU", "J/token", ...(extra.cost ? ["cost/Mtoken"] : []), ...(extra.goodput ? ["goodput", "useful tok/s"] : []), "bottleneck"];
  const shown = r.ranking.slice(0, top);
  const rows = shown.map((e) => row(e, extra));
  if (r.baseline !== undefined && r.baseline.rank > top) rows.push(row(r.baseline, extra));
  lines.push(table([header, ...rows]));
  lines.push("");
  if (r.baseline !== undefined) {
    const b = r.baseline;
    const best = r.ranking[0] as PlanEntry;
    const gain = objectiveGain(best, b, r.objective);
    lines.push(`* the scenario's own layout: rank ${b.rank} of ${r.ranking.length}${b.rank > 1 ? `; the best gives ${gain}` : ""}`);
  } else if (r.baselineProblem !== undefined) {
    lines.push(`the scenario's own layout is not ranked: ${r.baselineProblem}`);
  }
  lines.push(`why: ${r.why}`);
  return lines.join("\n");
}

/** The --json object (docs/plan.md lists its fields). */
export function planJson(r: PlanResult, top: number): Record<string, unknown> {
  const strip = (e: PlanEntry): Record<string, unknown> => ({ ...e, parallelism: layoutParallelism(e.layout) });
  return {
    scenario: r.scenario,
    objective: r.objective,
    gpus: r.gpus,
    counts: r.counts,
    top: r.ranking.slice(0, top).map(strip),
    ...(r.baseline !== undefined ? { baseline: strip(r.baseline) } : {}),
    ...(r.baselineProblem !== undefined ? { baselineProblem: r.baselineProblem } : {}),
    memoryHeadroom: r.memoryHeadroom,
    why: r.why,
  };
}

/** The chosen layout as a runnable scenario (YAML): the scenario with its parallelism: replaced. */
export function bestScenarioYaml(r: PlanResult, e: PlanEntry = r.ranking[0] as PlanEntry): string {
  const out = layoutScenario(r.raw, e.layout);
  out["name"] = `${r.scenario}-plan`;
  // A relative {hf: ...} path was relative to the scenario's folder: keep it pointing there.
  const w = out["workload"];
  if (isPlainObject(w) && isPlainObject(w["model"]) && typeof w["model"]["hf"] === "string" && !isAbsolute(w["model"]["hf"])) {
    w["model"] = { ...w["model"], hf: resolve(r.loadOptions.baseDir, w["model"]["hf"]) };
  }
  const head = `# Written by trainsim plan (${r.objective}): layout ${e.key}, rank ${e.rank} of ${r.ranking.length} simulated,\n# predicted ${e.stepSeconds.toFixed(3)} s per step, ${Math.round(e.tokensPerSecond)} tokens/s.\n`;
  return head + toYaml(out);
}
