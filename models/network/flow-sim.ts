/**
 * Run collectives as flows on a topology with the fluid model: every flow is
 * an activity on the links of its path; flows sharing a link share it max-min
 * fairly; a collective ends when its last flow does (after its latency).
 */
import { Simulation } from "../../sim/simulation.ts";
import type { Resource } from "../../sim/fluid.ts";
import type { Topology } from "./graph.ts";
import { linkEfficiency, planCollective, type CollectivePlan, type CollectiveRequest } from "./collectives.ts";

export interface CollectiveTiming {
  plan: CollectivePlan;
  seconds: number;
}

export interface FlowSimStats {
  events: number;
  flows: number;
}

/** Start all `requests` at time 0 and return when each finishes. */
export function simulateCollectives(t: Topology, requests: CollectiveRequest[], stats?: FlowSimStats): CollectiveTiming[] {
  const sim = new Simulation();
  const fluid = sim.fluid;
  const resources = new Map<number, Resource>();
  const resource = (id: number): Resource => {
    let r = resources.get(id);
    if (r === undefined) {
      const l = t.graph.link(id);
      r = fluid.addResource({ name: l.name, kind: l.kind, capacity: l.capacity * linkEfficiency(l.kind) });
      resources.set(id, r);
    }
    return r;
  };
  const out: CollectiveTiming[] = [];
  let flows = 0;
  requests.forEach((req, i) => {
    const plan = planCollective(t, req);
    const timing: CollectiveTiming = { plan, seconds: plan.latencySeconds };
    out.push(timing);
    // Phases run one after the other, each after its latency.
    const runPhase = (phase: CollectivePlan): void => {
      let left = phase.flows.length;
      const next = (): void => {
        timing.seconds = sim.now;
        if (phase.then !== undefined) sim.after(phase.then.latencySeconds, () => runPhase(phase.then as CollectivePlan));
      };
      if (left === 0) {
        next();
        return;
      }
      flows += left;
      const done = (): void => {
        if (--left === 0) next();
      };
      for (const f of phase.flows) {
        fluid.start({ work: f.links.map((l) => [resource(l), f.bytes] as [Resource, number]), onComplete: done, label: `c${i}` });
      }
    };
    if (plan.flows.length === 0 && plan.then === undefined) return;
    sim.at(plan.latencySeconds, () => runPhase(plan));
  });
  sim.run();
  if (stats) {
    stats.events = sim.queue.processed;
    stats.flows = flows;
  }
  return out;
}

/**
 * Seconds the slowest flow of `requests` would take at the max-min fair rates
 * all of them get while running together: one solve instead of a simulation.
 * An upper bound on the real time (rates only rise as flows finish), and the
 * right quantity when everything runs in lock-step.
 */
export function slowestFlowSeconds(t: Topology, requests: CollectiveRequest[]): number {
  const sim = new Simulation();
  const fluid = sim.fluid;
  const resources = new Map<number, Resource>();
  let worst = 0;
  const activities = [];
  for (const req of requests) {
    for (const f of planCollective(t, req).flows) {
      // (Only the first phase of a multi-phase plan: probes use single-phase algorithms.)
      const work: [Resource, number][] = f.links.map((id) => {
        let r = resources.get(id);
        if (r === undefined) {
          const l = t.graph.link(id);
          r = fluid.addResource({ name: l.name, kind: l.kind, capacity: l.capacity * linkEfficiency(l.kind) });
          resources.set(id, r);
        }
        return [r, f.bytes];
      });
      activities.push(fluid.start({ work }));
    }
  }
  fluid.flush();
  for (const a of activities) if (a.rate > 0) worst = Math.max(worst, 1 / a.rate);
  return worst;
}
