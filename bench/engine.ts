/**
 * Engine microbenchmarks: the event queue under a hold model and the cost of one
 * fluid-model update at different total sizes and component shapes.
 */
import { EventQueue } from "../sim/event-queue.ts";
import { RandomStreams } from "../sim/random.ts";
import { Simulation } from "../sim/simulation.ts";
import type { Activity, Resource } from "../sim/fluid.ts";
import { measure, type BenchResult } from "./harness.ts";

/** Hold model: N pending events; each fired event schedules one more. */
export function queueThroughput(pending: number, events: number): BenchResult {
  return measure(`queue hold, ${pending.toExponential(0)} pending`, () => {
    const q = new EventQueue();
    const rng = new RandomStreams(1).stream("bench");
    // Pre-drawn delays keep the RNG out of the measured loop.
    const delays = new Float64Array(1 << 16);
    for (let i = 0; i < delays.length; i++) delays[i] = rng.exponential(1);
    let k = 0;
    let left = events;
    const handler = (): void => {
      if (--left > 0) q.scheduleIn(delays[k++ & 0xffff] as number, handler);
    };
    for (let i = 0; i < pending; i++) q.schedule(delays[k++ & 0xffff] as number, handler);
    const t0 = process.hrtime.bigint();
    while (left > 0 && q.step());
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, count: q.processed, unit: "events" };
  });
}

/**
 * Fluid update cost: `total` activities run concurrently; each completion starts
 * a replacement in the same component, so every completion is one update (an end
 * and a start, one solve). `shape` "small": components of 4 activities on 2
 * resources with random sizes, so updates hit components in random order (the
 * worst case for caches); "lockstep": the same with equal sizes, so components
 * finish together and updates sweep them in order, as symmetric ranks of a
 * training step do; "large": every activity also shares one resource, so each
 * update re-solves all.
 *
 * `active` (small and lockstep only): updates stay within the components of the
 * first `active` activities; the other components hold activities too long to
 * finish during the run. The engine then holds `total` activities while the
 * updates touch the memory of `active`: comparing with `total` = `active` shows
 * what the total costs by itself, apart from caches.
 */
export function fluidUpdate(total: number, shape: "small" | "large" | "lockstep", updates: number, active = total): BenchResult {
  if (shape === "large" && active !== total) throw new RangeError("a large component has no inactive part");
  const within = active === total ? "" : ` (updates within ${active.toExponential(0)})`;
  return measure(`fluid update, ${total.toExponential(0)} activities${within}, ${shape} components`, () => {
    const sim = new Simulation();
    const rng = sim.rng("bench");
    const shared = shape === "large" ? sim.fluid.addResource({ name: "shared", capacity: total * 0.5 }) : undefined;
    const groups = Math.ceil(total / 4);
    const activeGroups = Math.ceil(active / 4);
    const links: [Resource, Resource][] = [];
    for (let g = 0; g < groups; g++) {
      const capacity = shape === "lockstep" ? 1.5 : 1 + rng.uniform();
      links.push([sim.fluid.addResource({ name: `a${g}`, capacity }), sim.fluid.addResource({ name: `b${g}`, capacity: 2 })]);
    }
    let left = updates;
    // One shared completion callback; the group rides in `data` (no closure per activity).
    // The replacement's resources are the finished activity's, already in cache: looking
    // them up in `links` would add the benchmark's own cache misses to every update.
    const restart = (done: Activity): void => {
      const g = done.data as number;
      const a = done.resources[0] as Resource;
      const b = done.resources[1] as Resource;
      sim.fluid.recycle(done);
      if (--left > 0) startOn(g, a, b);
    };
    const startOn = (g: number, a: Resource, b: Resource): void => {
      const work: [Resource, number][] =
        shape === "lockstep" ? [[a, 1], [b, 1]] : [[a, 0.5 + rng.uniform()], [b, 0.5 + rng.uniform()]];
      if (shared) work.push([shared, 1]);
      sim.fluid.start({ work, onComplete: restart, data: g });
    };
    for (let i = 0; i < total; i++) {
      const g = i % groups;
      const [a, b] = links[g] as [Resource, Resource];
      if (g < activeGroups) startOn(g, a, b);
      else sim.fluid.start({ work: [[a, 1e300], [b, 1e300]], data: g });
    }
    sim.fluid.flush();
    const left0 = left;
    const t0 = process.hrtime.bigint();
    while (left > 0 && sim.queue.step());
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // An update is one activity ending and its replacement starting; changes at one
    // instant share a solve, so in lock-step there are fewer solves than updates.
    return { seconds, count: left0 - left, unit: "updates" };
  });
}

/**
 * What one cache miss costs on this machine: dependent loads, one per 64-byte line,
 * in a random cycle over `megabytes` of memory. The fluid update at 10^5 activities
 * touches ~45 MB of records, facades and queue entries at random, so each line it
 * reads costs what this costs at 32 MB and more; at 10^3 activities (~0.5 MB) what
 * it costs at 0.5 MB.
 */
export function memoryLatency(megabytes: number): BenchResult {
  const n = Math.floor((megabytes * 1024 * 1024) / 4);
  const lines = n >> 4;
  const next = new Int32Array(n);
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  const rng = new RandomStreams(1).stream("bench-memory");
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  for (let i = 0; i < lines; i++) next[(order[i] as number) << 4] = (order[(i + 1) % lines] as number) << 4;
  let p = 0;
  return measure(`memory: dependent loads over ${megabytes} MB`, () => {
    const loads = 2e6;
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < loads; k++) p = next[p] as number;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, count: loads + (p < 0 ? 1 : 0), unit: "loads" };
  });
}
