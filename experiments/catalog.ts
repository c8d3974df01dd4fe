/**
 * What `trainsim catalog` lists: the built-in accelerators, models, topologies and
 * cluster presets, as JSON or as text.
 */
import { CATALOG } from "../models/hardware/catalog.ts";
import { BUILTIN_MODELS } from "../models/workload/builtins.ts";
import { totalParams } from "../models/workload/params.ts";
import { CLUSTER_PRESETS } from "./presets.ts";
import { TOPOLOGIES } from "./schema.ts";

export const CATALOG_KINDS = ["accelerators", "models", "topologies", "presets"];

/** The catalog's entries of the kinds `want` accepts, keyed by kind. */
export function catalogJson(want: (kind: string) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (want("accelerators")) out["accelerators"] = CATALOG;
  if (want("models")) out["models"] = BUILTIN_MODELS;
  if (want("topologies")) out["topologies"] = TOPOLOGIES;
  if (want("presets")) out["presets"] = CLUSTER_PRESETS;
  return out;
}

/** The catalog's entries of the kinds `want` accepts, one line each under a heading per kind. */
export function catalogText(want: (kind: string) => boolean): string {
  const lines: string[] = [];
  if (want("accelerators")) {
    lines.push("accelerators (dense peak, HBM, scale-up per direction, NIC per GPU, TDP):");
    for (const a of Object.values(CATALOG)) {
      const bf16 = a.peakFlops.bf16 ?? a.peakFlops.fp16 ?? 0;
      lines.push(
        `  ${a.name.padEnd(10)} ${(bf16 / 1e12).toFixed(0).padStart(5)} TFLOP/s bf16  ${(a.hbmBytes / 2 ** 30).toFixed(0).padStart(4)} GiB  ${(a.hbmBandwidth / 1e12).toFixed(2)} TB/s  ` +
          `${(a.scaleUpBandwidth / 1e9).toFixed(0).padStart(4)} GB/s ${a.scaleUpKind}  ${((a.nicBandwidth * 8) / 1e9).toFixed(0).padStart(4)} Gb/s  ${a.tdpWatts} W`,
      );
    }
  }
  if (want("models")) {
    lines.push("models (layers × hidden, heads / KV heads, parameters):");
    for (const m of Object.values(BUILTIN_MODELS)) {
      lines.push(`  ${m.name.padEnd(13)} ${String(m.layers).padStart(3)} × ${String(m.hidden).padEnd(5)}  ${m.heads}/${m.kvHeads} heads  ${(totalParams(m) / 1e9).toFixed(1)}B${m.experts > 1 ? ` (${m.experts} experts, top-${m.topK})` : ""}`);
    }
  }
  if (want("topologies")) lines.push(`topologies: ${TOPOLOGIES.join(", ")}`);
  if (want("presets")) {
    lines.push("cluster presets (cluster: {preset: <name>, nodes: N}; the file's own keys override):");
    for (const [name, p] of Object.entries(CLUSTER_PRESETS)) lines.push(`  ${name.padEnd(18)} ${p.description}`);
  }
  return lines.join("\n") + "\n";
}
