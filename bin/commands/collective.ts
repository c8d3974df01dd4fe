/** `trainsim collective`: one collective over message sizes, as an nccl-tests-style table. */
import type { Command } from "commander";
import type { CollectiveOp } from "../../models/collectives/alpha-beta.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import { buildTopology } from "../../models/network/build.ts";
import type { Algorithm } from "../../models/network/collectives.ts";
import { SCALE_UP_TOPOLOGIES, scaleUpTopologyProblem, type ScaleUpTopologyRequest } from "../../models/network/scale-up.ts";
import { collectiveSizes, collectiveTable, formatCollectiveTable } from "../../models/network/nccl-table.ts";
import type { ClusterSpec, TopologyKind } from "../../models/scenario.ts";
import { clusterSpec } from "../../experiments/defaults.ts";
import { loadScenario } from "../../experiments/load.ts";
import { TOPOLOGIES } from "../../experiments/schema.ts";
import { parseQuantity } from "../../experiments/units.ts";
import { collectiveSizeCount, collectiveWorkProblem } from "../../experiments/work-limits.ts";
import { InputError, json, printText } from "../common.ts";
import { calibratedCluster, readCalibration } from "../../experiments/calibrate/calibration-file.ts";
import { CalibrationInputError } from "../../experiments/calibrate/errors.ts";

/** nccl-tests sizes ("8", "128K", "1M", "8G": binary multiples) or trainsim quantities ("8 GiB"). */
function parseSize(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text.trim());
  if (m) return Math.round(Number(m[1]) * 1024 ** ["", "K", "M", "G", "T"].indexOf(m[2] as string));
  const q = parseQuantity(text, "bytes");
  if (typeof q === "number") return q;
  throw new InputError(`${flag}: ${JSON.stringify(text)} is not a size; use bytes like 8, 128K, 1M, 8G or "8 GiB"`);
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag}: ${JSON.stringify(text)} is not allowed; expected an integer >= 1`);
  return n;
}

const OPS: CollectiveOp[] = ["all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast", "send"];
const ALGORITHMS: Algorithm[] = ["auto", "ring", "tree", "nvls", "hierarchical", "direct"];

export function registerCollectiveCommand(program: Command): void {
  program
    .command("collective")
    .description("Simulate one collective over message sizes on a cluster's topology and print an nccl-tests-style table.")
    .option("--scenario <file>", "take the cluster (GPU, nodes, network) from this scenario file")
    .option("--gpu <name>", "accelerator from the catalog (without --scenario)", "H100-SXM")
    .option("--nodes <n>", "nodes (without --scenario)", "1")
    .option("--gpus-per-node <n>", "GPUs per node (without --scenario)", "8")
    .option("--scale-up-topology <kind>", `${SCALE_UP_TOPOLOGIES.join(" | ")}: GPUs of a node on a switch or a direct mesh (without --scenario; auto: mesh for xGMI and for NVLink nodes of 4)`, "auto")
    .option("--topology <kind>", "rail-optimized | fat-tree | torus | nvl72 (without --scenario)", "rail-optimized")
    .option("--oversubscription <ratio>", "leaf downlink:uplink ratio (without --scenario)", "1")
    .option("--routing <mode>", "dmodk | ecmp (without --scenario)", "dmodk")
    .option("--op <op>", `collective: ${OPS.join(" | ")}`, "all-reduce")
    .option("--algorithm <alg>", `algorithm: ${ALGORITHMS.join(" | ")} (auto picks as NCCL/RCCL would: NVLS inside an H100+ NVSwitch node, direct inside a mesh, else ring)`, "auto")
    .option("--ranks <n>", "group size: the first n GPUs (default: all)")
    .option("-b, --min-bytes <size>", "smallest message (nccl-tests -b)", "8")
    .option("-e, --max-bytes <size>", "largest message (nccl-tests -e)", "8G")
    .option("-f, --factor <n>", "size multiplier between rows (nccl-tests -f)", "2")
    .option("--calibration <file>", "apply a calibration written by trainsim calibrate (over --scenario's or the flags' cluster)")
    .option("--json", "print the rows as JSON")
    .addHelpText(
      "after",
      "\nbusbw follows nccl-tests: algbw = size / time, busbw = algbw × 2(n-1)/n for all-reduce, × (n-1)/n for\n" +
        "all-gather, reduce-scatter and all-to-all, so it compares with the hardware's link speed.\n\n" +
        "Examples:\n  trainsim collective --gpu A100-80GB                       # one DGX A100\n" +
        "  trainsim collective --gpu MI300X -b 1G -e 16G              # 8 x MI300X, direct over the xGMI mesh\n" +
        "  trainsim collective --gpu H100-SXM --gpus-per-node 4       # HGX H100 4-GPU board (NVLink mesh)\n" +
        "  trainsim collective --gpu H100-SXM --nodes 16 --op all-gather\n" +
        "  trainsim collective --scenario experiments/scenarios/gpt3-175b-1024.yaml --ranks 64 -b 1M\n",
    )
    .action((opts: Record<string, string | boolean | undefined>) => {
      let cluster: ClusterSpec;
      if (typeof opts["scenario"] === "string") cluster = loadScenario(opts["scenario"]).cluster;
      else {
        const gpu = CATALOG[opts["gpu"] as string];
        if (gpu === undefined) throw new InputError(`--gpu: ${JSON.stringify(opts["gpu"])} is not a known accelerator; allowed: ${Object.keys(CATALOG).join(", ")}`);
        const topology = opts["topology"] as TopologyKind;
        if (!TOPOLOGIES.includes(topology)) throw new InputError(`--topology: ${JSON.stringify(topology)} is not allowed; expected one of ${TOPOLOGIES.join(", ")}`);
        const routing = opts["routing"] as "ecmp" | "dmodk";
        if (routing !== "ecmp" && routing !== "dmodk") throw new InputError(`--routing: ${JSON.stringify(routing)} is not allowed; expected ecmp or dmodk`);
        const over = Number(opts["oversubscription"]);
        if (!(over >= 1)) throw new InputError(`--oversubscription: ${JSON.stringify(opts["oversubscription"])} is not allowed; expected a number >= 1`);
        const gpusPerNode = positiveInt("--gpus-per-node", opts["gpusPerNode"] as string);
        const scaleUpTopology = opts["scaleUpTopology"] as ScaleUpTopologyRequest;
        if (!SCALE_UP_TOPOLOGIES.includes(scaleUpTopology)) throw new InputError(`--scale-up-topology: ${JSON.stringify(scaleUpTopology)} is not allowed; expected one of ${SCALE_UP_TOPOLOGIES.join(", ")}`);
        const problem = scaleUpTopologyProblem(gpu, gpusPerNode, scaleUpTopology);
        if (problem !== null) throw new InputError(`--scale-up-topology: ${problem}`);
        cluster = clusterSpec({
          gpu,
          nodes: positiveInt("--nodes", opts["nodes"] as string),
          gpusPerNode,
          scaleUpTopology,
          network: { topology, nicBandwidth: gpu.nicBandwidth, oversubscription: over, routing },
        });
      }
      if (typeof opts["calibration"] === "string") {
        try {
          cluster = calibratedCluster(cluster, readCalibration(opts["calibration"]), opts["calibration"]);
        } catch (err) {
          if (err instanceof CalibrationInputError) throw new InputError(`--calibration: ${err.message}`);
          throw err;
        }
      }
      const op = opts["op"] as CollectiveOp;
      if (!OPS.includes(op)) throw new InputError(`--op: ${JSON.stringify(op)} is not allowed; expected one of ${OPS.join(", ")}`);
      const algorithm = opts["algorithm"] as Algorithm;
      if (!ALGORITHMS.includes(algorithm)) throw new InputError(`--algorithm: ${JSON.stringify(algorithm)} is not allowed; expected one of ${ALGORITHMS.join(", ")}`);
      const total = cluster.nodes * cluster.gpusPerNode;
      const n = opts["ranks"] === undefined ? total : positiveInt("--ranks", opts["ranks"] as string);
      if (n > total) throw new InputError(`--ranks: ${n} is more than the cluster's ${total} GPUs`);
      if (n < 2) throw new InputError("--ranks: a collective needs at least 2 ranks");
      const min = parseSize("--min-bytes", opts["minBytes"] as string);
      const max = parseSize("--max-bytes", opts["maxBytes"] as string);
      const factor = Number(opts["factor"]);
      if (!(factor > 1)) throw new InputError(`--factor: ${JSON.stringify(opts["factor"])} is not allowed; expected a number > 1`);
      if (!(min >= 1 && max >= min)) throw new InputError(`--min-bytes/--max-bytes: need 1 <= min <= max, got ${min} and ${max}`);
      // Before building anything: the topology and the flow simulation grow with GPUs, ranks² and sizes.
      const work = collectiveWorkProblem(op, n, collectiveSizeCount(min, max, factor), total);
      if (work !== null) throw new InputError(work);
      const topo = buildTopology(cluster);
      const ranks = Array.from({ length: n }, (_, i) => i);
      let rows;
      try {
        rows = collectiveTable(topo, op, ranks, collectiveSizes(min, max, factor), algorithm);
      } catch (err) {
        throw new InputError(`--algorithm: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (opts["json"]) {
        process.stdout.write(json({ topology: topo.describe(), op, ranks: n, rows }));
        return;
      }
      const header = `${op} of ${n} ranks on ${topo.describe()}`;
      printText(formatCollectiveTable(rows, header) + "\n");
    });
}
