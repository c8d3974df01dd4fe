/**
 * The small manifest `trainsim calibrate` reads instead of flags:
 *
 *   gpu: H100-SXM
 *   nodes: 1                 # default node count and GPUs per node of every nccl-tests file
 *   gpusPerNode: 8
 *   ncclTests:
 *     - all_reduce_perf.txt
 *     - {file: ar-2nodes.txt, nodes: 2, op: all-reduce, algorithm: ring}
 *   kernels: [gemm.csv, attention.csv]
 *   steps:
 *     - {scenario: my-run.yaml, seconds: 11.8}
 *   bandwidthFrom: 64 MiB    # first size of the bandwidth regime (optional)
 *
 * Paths are relative to the manifest.
 */
import { dirname } from "node:path";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { CollectiveOp } from "../../models/collectives/alpha-beta.ts";
import type { Algorithm } from "../../models/network/collectives.ts";
import { parseQuantity } from "../units.ts";
import type { CalibrateRequest, NcclSpec } from "./calibrate.ts";
import { CalibrationInputError } from "./errors.ts";

export const OPS: readonly CollectiveOp[] = ["all-reduce", "all-gather", "reduce-scatter", "all-to-all", "send"];
export const ALGORITHMS: readonly Algorithm[] = ["auto", "ring", "tree", "nvls", "hierarchical", "direct"];
const KEYS = ["gpu", "nodes", "gpusPerNode", "ncclTests", "kernels", "steps", "bandwidthFrom"];

function bad(file: string, field: string, value: unknown, expected: string): never {
  throw new CalibrationInputError(`${file}: ${field}: ${JSON.stringify(value)} is not allowed; expected ${expected}`);
}

function positiveInt(file: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) bad(file, field, v, "an integer >= 1");
  return v;
}

export function readManifest(file: string): CalibrateRequest {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CalibrationInputError(`${file}: cannot read the manifest (${err instanceof Error ? err.message.split("\n")[0] : String(err)}); expected a YAML file with gpu, nodes, gpusPerNode, ncclTests, kernels, steps`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) bad(file, "(file)", raw, "a YAML map with gpu, nodes, gpusPerNode, ncclTests, kernels, steps");
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) bad(file, k, k, `one of ${KEYS.join(", ")}`);
  if (typeof o["gpu"] !== "string") bad(file, "gpu", o["gpu"], "a catalog accelerator name (trainsim catalog)");
  const nodes = o["nodes"] === undefined ? 1 : positiveInt(file, "nodes", o["nodes"]);
  const gpusPerNode = o["gpusPerNode"] === undefined ? 8 : positiveInt(file, "gpusPerNode", o["gpusPerNode"]);
  const list = (k: string): unknown[] => {
    const v = o[k];
    if (v === undefined) return [];
    if (!Array.isArray(v)) bad(file, k, v, "a list");
    return v;
  };
  const nccl: NcclSpec[] = list("ncclTests").map((e, i) => {
    const f = `ncclTests[${i}]`;
    if (typeof e === "string") return { file: e };
    if (e === null || typeof e !== "object") bad(file, f, e, "a file path or {file, nodes, gpusPerNode, op, algorithm}");
    const x = e as Record<string, unknown>;
    for (const k of Object.keys(x)) if (!["file", "nodes", "gpusPerNode", "op", "algorithm"].includes(k)) bad(file, `${f}.${k}`, k, "one of file, nodes, gpusPerNode, op, algorithm");
    if (typeof x["file"] !== "string") bad(file, `${f}.file`, x["file"], "a path to nccl-tests output");
    const spec: NcclSpec = { file: x["file"] };
    if (x["nodes"] !== undefined) spec.nodes = positiveInt(file, `${f}.nodes`, x["nodes"]);
    if (x["gpusPerNode"] !== undefined) spec.gpusPerNode = positiveInt(file, `${f}.gpusPerNode`, x["gpusPerNode"]);
    if (x["op"] !== undefined) {
      if (!OPS.includes(x["op"] as CollectiveOp)) bad(file, `${f}.op`, x["op"], `one of ${OPS.join(", ")}`);
      spec.op = x["op"] as CollectiveOp;
    }
    if (x["algorithm"] !== undefined) {
      if (!ALGORITHMS.includes(x["algorithm"] as Algorithm)) bad(file, `${f}.algorithm`, x["algorithm"], `one of ${ALGORITHMS.join(", ")}`);
      spec.algorithm = x["algorithm"] as Algorithm;
    }
    return spec;
  });
  const kernels = list("kernels").map((e, i) => (typeof e === "string" ? e : bad(file, `kernels[${i}]`, e, "a path to a kernel CSV")));
  const steps = list("steps").map((e, i) => {
    const x = (e ?? {}) as Record<string, unknown>;
    if (typeof x["scenario"] !== "string") bad(file, `steps[${i}].scenario`, x["scenario"], "a scenario file path");
    const s = parseQuantity(x["seconds"], "time");
    if (typeof s !== "number" || !(s > 0)) bad(file, `steps[${i}].seconds`, x["seconds"], "the measured seconds per step, > 0");
    return { scenario: x["scenario"], seconds: s };
  });
  const req: CalibrateRequest = { gpu: o["gpu"], nodes, gpusPerNode, nccl, kernels, steps, baseDir: dirname(file) };
  if (o["bandwidthFrom"] !== undefined) {
    const b = parseQuantity(o["bandwidthFrom"], "bytes");
    if (typeof b !== "number" || !(b > 0)) bad(file, "bandwidthFrom", o["bandwidthFrom"], 'a size such as "64 MiB"');
    req.bandwidthFromBytes = b;
  }
  return req;
}
