/**
 * `trainsim calibrate`: read what a user measured on their own cluster, fit the model's
 * constants, and return the calibration file with the residual of every input.
 * Order: fabric scale-up and NVLS (one-node tables), then scale-out (multi-node tables, on
 * the calibrated scale-up), then kernels; step times last, against the finished
 * calibration, as residuals only (nothing is fitted to end-to-end times).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { buildTopology } from "../../models/network/build.ts";
import type { Algorithm } from "../../models/network/collectives.ts";
import { runScenario } from "../../models/run.ts";
import type { CollectiveOp } from "../../models/collectives/alpha-beta.ts";
import { loadScenario } from "../load.ts";
import { calibratedCluster, calibrationYaml, CALIBRATION_FORMAT, sha256, type CalibrationFile, type Residual, type StepResidual } from "./calibration-file.ts";
import { CalibrationInputError } from "./errors.ts";
import { DEFAULT_BANDWIDTH_FROM_BYTES, fitLevel, levelOf, modelTime, observations, tableCluster, type CollectiveInput, type Level } from "./fit-collectives.ts";
import { fitAttention, fitGemm } from "./fit-kernels.ts";
import { parseKernelCsv, type AttentionRow, type GemmRow } from "./kernel-csv.ts";
import { parseNcclTests } from "./nccl-tests.ts";

export interface NcclSpec {
  file: string;
  op?: CollectiveOp;
  nodes?: number;
  gpusPerNode?: number;
  algorithm?: Algorithm;
}

export interface CalibrateRequest {
  gpu: string;
  nodes: number;
  gpusPerNode: number;
  nccl: NcclSpec[];
  kernels: string[];
  steps: { scenario: string; seconds: number }[];
  bandwidthFromBytes?: number;
  /** Folder the files' paths are relative to (the manifest's); provenance keeps the paths as written. */
  baseDir?: string;
}

export const METHOD =
  "fabric: per level, least absolute deviations on relative residuals of time = latency + model bytes-time / efficiency over rows >= bandwidthFrom, outliers beyond 3 robust sigmas left out, measured size curve = median per size; " +
  "kernels: per precision, least absolute deviations scale of achieved / model shape factor (models/compute/gemm-efficiency.ts); step times: residuals only";

function read(path: string, shown: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CalibrationInputError(`${shown}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)}); expected a readable file`);
  }
}

export interface CalibrateResult {
  calibration: CalibrationFile;
  yaml: string;
}

/** Re-simulate every row with the finished calibration: the residuals the file reports. */
function collectiveResiduals(gpu: Accelerator, c: CalibrationFile, inputs: readonly CollectiveInput[], outliers: ReadonlySet<string>): Residual[] {
  const out: Residual[] = [];
  for (const input of inputs) {
    const cluster = calibratedCluster(tableCluster(gpu, input), c, "(this calibration)");
    const topo = buildTopology(cluster);
    const ranks = input.nodes * input.gpusPerNode;
    const cache = new Map<number, number>();
    for (const o of observations(input)) {
      let predicted = cache.get(o.bytes);
      if (predicted === undefined) {
        predicted = modelTime(topo, input.table.op, ranks, o.bytes, input.algorithm ?? "auto").seconds;
        cache.set(o.bytes, predicted);
      }
      out.push({ input: o.input, measured: o.seconds, predicted, relative: (predicted - o.seconds) / o.seconds, unit: "s", ...(outliers.has(o.input) ? { outlier: true as const } : {}) });
    }
  }
  return out;
}

export function calibrate(req: CalibrateRequest): CalibrateResult {
  const gpu = CATALOG[req.gpu];
  if (gpu === undefined) throw new CalibrationInputError(`gpu: ${JSON.stringify(req.gpu)} is not a known accelerator; allowed: ${Object.keys(CATALOG).join(", ")}`);
  if (req.nccl.length + req.kernels.length + req.steps.length === 0) throw new CalibrationInputError("inputs: nothing to calibrate from; expected nccl-tests outputs (--nccl), kernel CSVs (--kernels) or step times (--step)");
  const at = (f: string): string => resolve(req.baseDir ?? ".", f);
  const provenance: CalibrationFile["provenance"] = { tool: "trainsim calibrate", method: METHOD, inputs: [] };

  const inputs: CollectiveInput[] = req.nccl.map((n) => {
    const bytes = read(at(n.file), n.file);
    const table = parseNcclTests(n.file, bytes.toString("utf8"), n.op);
    const nodes = n.nodes ?? req.nodes;
    const gpusPerNode = n.gpusPerNode ?? req.gpusPerNode;
    if (table.ranksListed !== undefined && table.ranksListed !== nodes * gpusPerNode) {
      throw new CalibrationInputError(`${n.file}: ranks: the output lists ${table.ranksListed} ranks under "# Using devices" but nodes × gpusPerNode is ${nodes} × ${gpusPerNode} = ${nodes * gpusPerNode}; expected the node count and GPUs per node the test ran on`);
    }
    if (nodes * gpusPerNode < 2) throw new CalibrationInputError(`${n.file}: ranks: ${nodes * gpusPerNode} is not allowed; expected a collective of at least 2 GPUs`);
    provenance.inputs.push({ file: n.file, kind: `nccl-tests ${table.op}, ${nodes} node${nodes > 1 ? "s" : ""} × ${gpusPerNode} GPUs`, sha256: sha256(bytes), rows: table.rows.length });
    return { table, nodes, gpusPerNode, ...(n.algorithm !== undefined ? { algorithm: n.algorithm } : {}) };
  });

  const calibration: CalibrationFile = { trainsimCalibration: CALIBRATION_FORMAT, gpu: req.gpu, provenance, fabric: {}, kernels: {}, residuals: [] };
  const fabric = calibration.fabric!;
  const outliers = new Set<string>();
  const byLevel = new Map<Level, CollectiveInput[]>();
  for (const i of inputs) {
    const l = levelOf(gpu, i);
    byLevel.set(l, [...(byLevel.get(l) ?? []), i]);
  }
  for (const level of ["scaleUp", "nvls", "scaleOut"] as const) {
    const group = byLevel.get(level);
    if (group === undefined) continue;
    const r = fitLevel(gpu, level, group, calibration, req.bandwidthFromBytes ?? DEFAULT_BANDWIDTH_FROM_BYTES);
    fabric[level] = r.fit;
    for (const o of r.outliers) outliers.add(o);
  }
  calibration.residuals.push(...collectiveResiduals(gpu, calibration, inputs, outliers));

  const gemms: { file: string; rows: GemmRow[] }[] = [];
  const attention: { file: string; rows: AttentionRow[] }[] = [];
  for (const f of req.kernels) {
    const bytes = read(at(f), f);
    const t = parseKernelCsv(f, bytes.toString("utf8"));
    provenance.inputs.push({ file: f, kind: t.kind === "gemm" ? "GEMM timings" : "attention timings", sha256: sha256(bytes), rows: t.rows.length });
    if (t.kind === "gemm") gemms.push({ file: f, rows: t.rows });
    else attention.push({ file: f, rows: t.rows });
  }
  const kernels = calibration.kernels!;
  if (gemms.length > 0) {
    const g = fitGemm(gpu, gemms);
    kernels.gemm = g.levels;
    calibration.residuals.push(...g.residuals);
  }
  for (const backward of [false, true]) {
    if (!attention.some((t) => t.rows.some((r) => r.backward === backward))) continue;
    const a = fitAttention(gpu, attention, backward);
    kernels[backward ? "attentionBackward" : "attentionForward"] = a.levels;
    calibration.residuals.push(...a.residuals);
  }
  if (Object.keys(fabric).length === 0) delete calibration.fabric;
  if (Object.keys(kernels).length === 0) delete calibration.kernels;

  if (req.steps.length > 0) {
    const steps: StepResidual[] = [];
    for (const s of req.steps) {
      const bytes = read(at(s.scenario), s.scenario);
      const scenario = loadScenario(at(s.scenario));
      if (scenario.cluster.gpu.name !== gpu.name && !scenario.cluster.gpu.name.startsWith(gpu.name)) {
        throw new CalibrationInputError(`${s.scenario}: cluster.gpu: ${JSON.stringify(scenario.cluster.gpu.name)} is not allowed; expected the calibrated accelerator ${gpu.name}`);
      }
      const calibrated = { ...scenario, cluster: calibratedCluster(scenario.cluster, calibration, "(this calibration)") };
      const predicted = runScenario(calibrated).result.stepSeconds;
      steps.push({ scenario: s.scenario, sha256: sha256(bytes), measuredSeconds: s.seconds, predictedSeconds: predicted, relative: (predicted - s.seconds) / s.seconds });
      provenance.inputs.push({ file: s.scenario, kind: `step time ${s.seconds} s (residual only)`, sha256: sha256(bytes), rows: 1 });
    }
    calibration.steps = steps;
  }
  return { calibration, yaml: calibrationYaml(calibration) };
}
