/** `trainsim calibrate`: fit the catalog's fabric and kernel constants to a user's own measurements. */
import type { Command } from "commander";
import { calibrate, type CalibrateRequest } from "../../experiments/calibrate/calibrate.ts";
import { CalibrationInputError } from "../../experiments/calibrate/errors.ts";
import { readManifest } from "../../experiments/calibrate/manifest.ts";
import { parseQuantity } from "../../experiments/units.ts";
import { writeAtomically } from "../../reports/atomic-write.ts";
import { InputError, checkedFile, json, printText } from "../common.ts";

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag}: ${JSON.stringify(text)} is not allowed; expected an integer >= 1`);
  return n;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** nccl-tests sizes ("64M": binary multiples) or quantities ("64 MiB"). */
function size(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text.trim());
  if (m) return Math.round(Number(m[1]) * 1024 ** ["", "K", "M", "G", "T"].indexOf(m[2] as string));
  const q = parseQuantity(text, "bytes");
  if (typeof q === "number" && q > 0) return q;
  throw new InputError(`${flag}: ${JSON.stringify(text)} is not a size; use bytes like 64M or "64 MiB"`);
}

export function registerCalibrateCommand(program: Command): void {
  program
    .command("calibrate")
    .description("Fit fabric bandwidth/latency per level and kernel efficiency per precision to your own measurements; write a calibration file for cluster.calibration.")
    .argument("[manifest]", "YAML manifest naming the inputs (see docs/calibrate.md); or give them with the flags")
    .option("--gpu <name>", "catalog accelerator the measurements were taken on", "H100-SXM")
    .option("--nodes <n>", "nodes each nccl-tests run spanned", "1")
    .option("--gpus-per-node <n>", "GPUs per node", "8")
    .option("--nccl <file>", "nccl-tests output as printed (all_reduce_perf, all_gather_perf, reduce_scatter_perf, alltoall_perf, sendrecv_perf); repeatable", collect)
    .option("--kernels <file>", "GEMM or attention timings CSV (tools/gemm_bench.py); repeatable", collect)
    .option("--step <scenario=seconds>", "a scenario file and its measured seconds per step (residual only); repeatable", collect)
    .option("--bandwidth-from <size>", "first message size of the bandwidth regime the fabric fit uses", "64M")
    .option("-o, --out <file>", "write the calibration here (default: print it)")
    .option("--json", "print the calibration as JSON instead of YAML")
    .addHelpText(
      "after",
      "\nExamples:\n  trainsim calibrate --nccl all_reduce_perf.txt --nccl all_gather_perf.txt -o my-cluster.yaml\n" +
        "  trainsim calibrate --nodes 2 --nccl ar-16gpu.txt --kernels gemm.csv --step my-run.yaml=11.8 -o my-cluster.yaml\n" +
        "  trainsim calibrate calibration-inputs.yaml -o my-cluster.yaml\n" +
        "Then in a scenario: cluster: {calibration: my-cluster.yaml}. Method and file format: docs/calibrate.md.\n",
    )
    .action((manifest: string | undefined, opts: Record<string, string | string[] | boolean | undefined>) => {
      const out = typeof opts["out"] === "string" ? checkedFile("--out", opts["out"]) : undefined;
      let req: CalibrateRequest;
      try {
        if (manifest !== undefined) req = readManifest(manifest);
        else {
          const steps = ((opts["step"] as string[] | undefined) ?? []).map((s) => {
            const i = s.lastIndexOf("=");
            const seconds = i < 0 ? NaN : Number(s.slice(i + 1));
            if (i < 1 || !(seconds > 0)) throw new InputError(`--step: ${JSON.stringify(s)} is not allowed; expected scenario.yaml=SECONDS (measured seconds per step, > 0)`);
            return { scenario: s.slice(0, i), seconds };
          });
          req = {
            gpu: opts["gpu"] as string,
            nodes: positiveInt("--nodes", opts["nodes"] as string),
            gpusPerNode: positiveInt("--gpus-per-node", opts["gpusPerNode"] as string),
            nccl: ((opts["nccl"] as string[] | undefined) ?? []).map((file) => ({ file })),
            kernels: (opts["kernels"] as string[] | undefined) ?? [],
            steps,
            bandwidthFromBytes: size("--bandwidth-from", opts["bandwidthFrom"] as string),
          };
        }
        const { calibration, yaml } = calibrate(req);
        const text = opts["json"] ? json(calibration) : yaml;
        if (out === undefined) {
          printText(text);
          return;
        }
        writeAtomically(out, text);
        const lines = [`wrote ${out}`];
        for (const [level, f] of Object.entries(calibration.fabric ?? {})) {
          lines.push(`  ${level}: ${(f.effectiveBandwidth.value / 1e9).toFixed(1)} GB/s effective (${(f.efficiency * 100).toFixed(1)} % of nominal, ±${(f.effectiveBandwidth.spread.relative * 100).toFixed(1)} %), latency ${(f.latencySeconds * 1e6).toFixed(1)} us`);
        }
        for (const [group, levels] of Object.entries(calibration.kernels ?? {})) {
          for (const [p, v] of Object.entries(levels as Record<string, { value: number; spread: { relative: number } }>)) lines.push(`  ${group} ${p}: ${(v.value * 100).toFixed(1)} % of peak (±${(v.spread.relative * 100).toFixed(1)} %)`);
        }
        const worst = calibration.residuals.reduce((a, r) => Math.max(a, Math.abs(r.relative)), 0);
        lines.push(`  ${calibration.residuals.length} input rows, worst residual ${(worst * 100).toFixed(1)} %`);
        for (const s of calibration.steps ?? []) lines.push(`  step ${s.scenario}: measured ${s.measuredSeconds} s, predicted ${s.predictedSeconds.toFixed(3)} s (${(s.relative * 100).toFixed(1)} %)`);
        printText(lines.join("\n") + "\n");
      } catch (err) {
        if (err instanceof CalibrationInputError) throw new InputError(err.message);
        throw err;
      }
    });
}
