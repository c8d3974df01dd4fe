/**
 * A whole search at each of several cluster designs, to see how the best layout and its
 * bottleneck move: `trainsim plan --scale 1024,2048,...` (the scenario's cluster grown or
 * shrunk to each GPU count, cluster.nodes changed) and `--vary cluster.<key>=a,b,...` (one
 * cluster key set to each value, e.g. the GPU, the fabric's oversubscription, a power limit).
 * Everything else is kept; the scenario's own layout is dropped at every point (it may not
 * fit them all), so each point ranks only what its search found.
 */
import { applyOverride } from "../overrides.ts";
import { scenarioFromObject } from "../load.ts";
import { isPlainObject } from "../schema.ts";
import { PlanInputError, type Vary } from "./options.ts";
import { LAYOUT_KEYS, planFromRaw, readScenarioRaw, type PlanOptions, type PlanResult } from "./search.ts";

type Raw = Record<string, unknown>;

export interface ScalePoint {
  /** GPUs at this point. */
  gpus: number;
  /** How the point is named: its GPU count (--scale) or the varied key's value as written (--vary). */
  label: string;
  plan: PlanResult;
}

/** The GPU counts of --scale as node counts of the scenario's cluster; bad ones throw PlanInputError. */
export function scaleNodes(gpusList: readonly number[], gpusPerNode: number, text: string): number[] {
  return gpusList.map((g) => {
    if (g % gpusPerNode !== 0) throw new PlanInputError("--scale", text, `${g} GPUs is not allowed: the scenario's nodes have ${gpusPerNode} GPUs each; expected multiples of ${gpusPerNode}`);
    return g / gpusPerNode;
  });
}

/** The scenario at one point: `edit` applied to a copy whose parallelism keeps no layout key. */
function pointRaw(raw: Raw, edit: (r: Raw) => void): Raw {
  const parallelism = isPlainObject(raw["parallelism"]) ? Object.fromEntries(Object.entries(raw["parallelism"]).filter(([k]) => !(LAYOUT_KEYS as readonly string[]).includes(k))) : {};
  const point = { ...raw, cluster: isPlainObject(raw["cluster"]) ? { ...raw["cluster"] } : {}, parallelism };
  edit(point);
  return point;
}

/** One point of a --scale or --vary search: how it is named and what it sets on the scenario. */
interface PointEdit {
  label: string;
  edit: (r: Raw) => void;
}

async function planPoints(source: ReturnType<typeof readScenarioRaw>, edits: readonly PointEdit[], options: PlanOptions, onPoint?: (label: string) => void): Promise<ScalePoint[]> {
  const out: ScalePoint[] = [];
  for (const { label, edit } of edits) {
    onPoint?.(label);
    const plan = await planFromRaw(pointRaw(source.raw, edit), source.loadOptions, { ...options, noBaseline: true });
    out.push({ gpus: plan.gpus, label, plan });
  }
  return out;
}

export async function planScale(file: string, gpusList: readonly number[], text: string, options: PlanOptions = {}, onPoint?: (gpus: number) => void): Promise<ScalePoint[]> {
  const source = readScenarioRaw(file);
  const nodes = scaleNodes(gpusList, scenarioFromObject(source.raw, source.loadOptions).cluster.gpusPerNode, text);
  const edits = nodes.map((n, i) => ({ label: String(gpusList[i]), edit: (r: Raw) => void ((r["cluster"] as Raw)["nodes"] = n) }));
  return planPoints(source, edits, options, onPoint === undefined ? undefined : (label) => onPoint(Number(label)));
}

/** Each --vary value as a point: the value as written, set at the key as parsed. */
function varyEdits(vary: Vary): PointEdit[] {
  return vary.values.map((v) => ({ label: v.text, edit: (r: Raw) => applyOverride(r, vary.key, v.value) }));
}

/** Each --vary value set on the scenario; every point is loaded first, so a bad value stops everything before a search (ConfigError naming the key). */
export function checkVary(file: string, vary: Vary): void {
  const { raw, loadOptions } = readScenarioRaw(file);
  for (const { label, edit } of varyEdits(vary)) scenarioFromObject(pointRaw(raw, edit), { ...loadOptions, file: `${loadOptions.file ?? file} with --vary ${vary.key}=${label}` });
}

export async function planVary(file: string, vary: Vary, options: PlanOptions = {}, onPoint?: (label: string) => void): Promise<ScalePoint[]> {
  return planPoints(readScenarioRaw(file), varyEdits(vary), options, onPoint);
}

/** The --scale or --vary table: the best layout at each point and what bounds it (`header`: the first column's title). */
export function formatScale(points: readonly ScalePoint[], header = "GPUs"): string {
  const rows = [[header, "best layout", "step", "tokens/s", "MFU", "memory/GPU", "bottleneck", "simulated"]];
  for (const p of points) {
    const b = p.plan.ranking[0];
    if (b === undefined) {
      rows.push([p.label, "(no layout could be simulated)", "", "", "", "", "", String(p.plan.counts.simulated)]);
      continue;
    }
    rows.push([
      p.label,
      b.key,
      `${b.stepSeconds.toFixed(3)} s`,
      Math.round(b.tokensPerSecond).toLocaleString("en-US"),
      `${(b.mfu * 100).toFixed(1)} %`,
      `${(b.memoryBytesPerGpu / 2 ** 30).toFixed(1)} GiB`,
      `${b.bottleneck.category} ${(b.bottleneck.share * 100).toFixed(0)} %`,
      String(p.plan.counts.simulated),
    ]);
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows.map((r) => r.map((c, i) => (i === 1 || i === 6 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd()).join("\n");
}
