/**
 * Jobs meeting on the fabric: the group-slowdown approach (models/network/
 * group-slowdown.ts) extended across jobs.
 *
 * Each running job is represented by the collectives that carry its
 * inter-node traffic, expanded into flows on the cluster's link graph at the
 * job's actual GPUs, at a large probe size (so message-size effects cancel):
 * - an unmodelled job: one ring all-reduce over all its GPUs (data parallel);
 * - a modelled job: its data-parallel gradient collectives (every pipeline
 *   stage and tensor position: reduce-scatter with ZeRO ≥ 1, else all-reduce)
 *   and its pipeline sends (every stage boundary). Tensor, context and expert
 *   groups are taken to stay inside a node, as the plans we model lay them out.
 * All groups of all running jobs are active at once, as in the step model's
 * probe, and rates are the max-min fair allocation (the fluid model). A job's
 * communication time is its slowest flow's; its **multiplier** is that time
 * over the same job's time alone on a compact placement (its first GPUs of an
 * empty cluster), which is what "running alone" means for its step time.
 *
 * What is and is not solved: flows inside a scale-up domain (NVLink) use only
 * the job's own GPUs' links, so they cannot be slowed by other jobs and are
 * left out. PCIe and NIC links belong to one GPU, hence to one job: a flow's
 * share of them is a fixed cap (link rate over the job's flows on it). Only the
 * links other jobs can share — switch uplinks and spines ("fabric"), torus
 * links ("ici") — are resources in the solve, and only jobs linked through them
 * (a *component*) are solved together. Components are cached by their jobs'
 * placements, so an arrival far away in the fabric costs nothing here.
 */
import { Simulation } from "../../sim/simulation.ts";
import type { Activity, Resource } from "../../sim/fluid.ts";
import { linkEfficiency, planCollective, type CollectiveRequest } from "../network/collectives.ts";
import type { Topology } from "../network/graph.ts";
import type { ParallelPlan } from "../scenario.ts";

/** Large enough that message-size efficiency is the same for every flow (as group-slowdown.ts). */
export const PROBE_BYTES = 2 ** 30;

/** What traffic a job makes: a ring over all its GPUs, or a parallel plan's groups. */
export type TrafficShape = { kind: "ring" } | { kind: "plan"; plan: ParallelPlan };

export interface ProbeFlow {
  bytes: number;
  /** Shared links on the path (fabric, ici). */
  shared: number[];
  /** Bytes/s this flow can get from its private links (PCIe, NIC) given the job's other flows on them. */
  capBytesPerSecond: number;
}

export interface JobTraffic {
  flows: ProbeFlow[];
  /** Distinct shared links the job's flows cross. */
  sharedLinks: number[];
  /** Slowest time of the flows that cross no shared link (they run alone whatever others do). */
  privateSeconds: number;
}

const SHARED_KINDS = new Set(["fabric", "ici"]);

/** Megatron-LM rank order: tensor fastest, then context, data, pipeline (as group-slowdown.ts). */
function globalRank(p: ParallelPlan, pp: number, dp: number, cp: number, tp: number): number {
  return ((pp * p.dp + dp) * p.cp + cp) * p.tp + tp;
}

/** The probe collectives of a job, in its own rank numbers. */
export function probeRequests(shape: TrafficShape, gpus: number): CollectiveRequest[] {
  if (shape.kind === "ring") {
    return gpus <= 1 ? [] : [{ op: "all-reduce", ranks: Array.from({ length: gpus }, (_, i) => i), bytes: PROBE_BYTES, algorithm: "ring" }];
  }
  const p = shape.plan;
  const out: CollectiveRequest[] = [];
  if (p.dp * p.cp > 1) {
    for (let a = 0; a < p.pp; a++) {
      for (let t = 0; t < p.tp; t++) {
        const ranks: number[] = [];
        for (let d = 0; d < p.dp; d++) for (let c = 0; c < p.cp; c++) ranks.push(globalRank(p, a, d, c, t));
        out.push({ op: p.zero >= 1 ? "reduce-scatter" : "all-reduce", ranks, bytes: PROBE_BYTES, algorithm: "ring", salt: out.length * 7919 });
      }
    }
  }
  for (let a = 0; a + 1 < p.pp; a++) {
    for (let d = 0; d < p.dp; d++) {
      for (let c = 0; c < p.cp; c++) {
        for (let t = 0; t < p.tp; t++) {
          out.push({ op: "send", ranks: [globalRank(p, a, d, c, t), globalRank(p, a + 1, d, c, t)], bytes: PROBE_BYTES, salt: out.length });
        }
      }
    }
  }
  return out;
}

export class ContentionModel {
  readonly topology: Topology;
  /** Max-min solves run (components and references). */
  solves = 0;

  constructor(topology: Topology) {
    this.topology = topology;
  }

  /** The job's probe flows at GPUs `placement` (rank r on GPU placement[r]). */
  traffic(shape: TrafficShape, placement: readonly number[]): JobTraffic {
    const t = this.topology;
    const graph = t.graph;
    const domain = t.scaleUpDomain;
    const raw: { bytes: number; links: number[] }[] = [];
    for (const req of probeRequests(shape, placement.length)) {
      const mapped: CollectiveRequest = { ...req, ranks: req.ranks.map((r) => placement[r] as number) };
      for (const f of planCollective(t, mapped).flows) {
        if (f.src < 0 || f.dst < 0) continue;
        const crossesDomain = Math.floor(f.src / domain) !== Math.floor(f.dst / domain);
        if (!crossesDomain && !f.links.some((l) => SHARED_KINDS.has(graph.link(l).kind))) continue;
        raw.push({ bytes: f.bytes, links: f.links });
      }
    }
    // Private links: each flow gets an equal share of the ones it crosses.
    const users = new Map<number, number>();
    for (const f of raw) for (const l of f.links) if (!SHARED_KINDS.has(graph.link(l).kind)) users.set(l, (users.get(l) ?? 0) + 1);
    const flows: ProbeFlow[] = [];
    const sharedSet = new Set<number>();
    let privateSeconds = 0;
    for (const f of raw) {
      let cap = Infinity;
      const shared: number[] = [];
      for (const l of f.links) {
        const link = graph.link(l);
        if (SHARED_KINDS.has(link.kind)) {
          shared.push(l);
          sharedSet.add(l);
        } else {
          cap = Math.min(cap, (link.capacity * linkEfficiency(link.kind)) / (users.get(l) as number));
        }
      }
      if (shared.length === 0) privateSeconds = Math.max(privateSeconds, f.bytes / cap);
      else flows.push({ bytes: f.bytes, shared, capBytesPerSecond: cap });
    }
    return { flows, sharedLinks: [...sharedSet].sort((a, b) => a - b), privateSeconds };
  }

  /**
   * Communication seconds of each job (its slowest probe flow) with all of
   * `jobs` communicating at once: one max-min solve.
   */
  solve(jobs: readonly JobTraffic[]): number[] {
    const out = jobs.map((j) => j.privateSeconds);
    if (!jobs.some((j) => j.flows.length > 0)) return out;
    this.solves++;
    const sim = new Simulation();
    const fluid = sim.fluid;
    const resources = new Map<number, Resource>();
    const graph = this.topology.graph;
    const acts: Activity[][] = [];
    for (const j of jobs) {
      const mine: Activity[] = [];
      for (const f of j.flows) {
        const work = f.shared.map((id): [Resource, number] => {
          let r = resources.get(id);
          if (r === undefined) {
            const l = graph.link(id);
            r = fluid.addResource({ name: l.name, kind: l.kind, capacity: l.capacity * linkEfficiency(l.kind) });
            resources.set(id, r);
          }
          return [r, f.bytes];
        });
        mine.push(fluid.start({ work, maxRate: f.capBytesPerSecond / f.bytes }));
      }
      acts.push(mine);
    }
    fluid.flush();
    acts.forEach((mine, i) => {
      let worst = out[i] as number;
      for (const a of mine) worst = Math.max(worst, a.rate > 0 ? 1 / a.rate : Infinity);
      out[i] = worst;
    });
    return out;
  }
}
