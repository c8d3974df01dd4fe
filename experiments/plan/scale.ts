/**
 * `trainsim plan --scale 1024,2048,...`: the same model, sequence and global batch on the
 * scenario's cluster grown (or shrunk) to each GPU count (cluster.nodes changed, everything
 * else kept), a whole search at each point: how the best layout and its bottleneck move.
 */
import { scenarioFromObject } from "../load.ts";
import { isPlainObject } from "../schema.ts";
import { PlanInputError } from "./options.ts";
import { LAYOUT_KEYS, planFromRaw, readScenarioRaw, type PlanOptions, type PlanResult } from "./search.ts";

export interface ScalePoint {
  gpus: number;
  plan: PlanResult;
}

/** The GPU counts of --scale as node counts of the scenario's cluster; bad ones throw PlanInputError. */
export function scaleNodes(gpusList: readonly number[], gpusPerNode: number, text: string): number[] {
  return gpusList.map((g) => {
    if (g % gpusPerNode !== 0) throw new PlanInputError("--scale", text, `${g} GPUs is not allowed: the scenario's nodes have ${gpusPerNode} GPUs each; expected multiples of ${gpusPerNode}`);
    return g / gpusPerNode;
  });
}

export async function planScale(file: string, gpusList: readonly number[], text: string, options: PlanOptions = {}, onPoint?: (gpus: number) => void): Promise<ScalePoint[]> {
  const { raw, loadOptions } = readScenarioRaw(file);
  const base = scenarioFromObject(raw, loadOptions);
  const nodes = scaleNodes(gpusList, base.cluster.gpusPerNode, text);
  const out: ScalePoint[] = [];
  for (const [i, n] of nodes.entries()) {
    onPoint?.(gpusList[i] as number);
    const cluster = isPlainObject(raw["cluster"]) ? raw["cluster"] : {};
    // The scenario's own layout fits its own GPU count only: its layout keys go, the others stay.
    const parallelism = isPlainObject(raw["parallelism"]) ? Object.fromEntries(Object.entries(raw["parallelism"]).filter(([k]) => !(LAYOUT_KEYS as readonly string[]).includes(k))) : {};
    const point = { ...raw, cluster: { ...cluster, nodes: n }, parallelism };
    out.push({ gpus: gpusList[i] as number, plan: await planFromRaw(point, loadOptions, { ...options, noBaseline: true }) });
  }
  return out;
}

/** The --scale table: the best layout at each GPU count and what bounds it. */
export function formatScale(points: readonly ScalePoint[]): string {
  const rows = [["GPUs", "best layout", "step", "tokens/s", "MFU", "memory/GPU", "bottleneck", "simulated"]];
  for (const p of points) {
    const b = p.plan.ranking[0];
    if (b === undefined) {
      rows.push([String(p.gpus), "(no layout could be simulated)", "", "", "", "", "", String(p.plan.counts.simulated)]);
      continue;
    }
    rows.push([
      String(p.gpus),
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
