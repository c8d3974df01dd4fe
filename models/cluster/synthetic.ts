/**
 * A synthetic job trace from seeded distributions, each drawn from its own
 * named stream (so changing, say, the size weights never shifts the arrival
 * times):
 * - arrivals: a Poisson process (exponential gaps at the given rate), stream
 *   `cluster.arrivals`;
 * - sizes: GPU counts with weights, stream `cluster.sizes`;
 * - durations (training time alone): log-normal (median, σ of the log),
 *   exponential (mean) or fixed, optionally clamped, stream `cluster.durations`;
 * - priorities with weights, stream `cluster.priorities`;
 * - which jobs are modelled in detail (a template allowing the drawn size,
 *   with probability modelledShare), stream `cluster.modelled`.
 * Public traces have this shape: heavy-tailed durations spanning minutes to
 * days and sizes concentrated on 1-8 GPUs with a tail of large jobs (Jeon et
 * al., ATC'19, Philly; Hu et al., SC'21, Helios).
 */
import type { RandomStream } from "../../sim/random.ts";
import type { DurationDistribution, JobSpec, SyntheticSpec } from "./types.ts";

function pick<T extends { weight: number }>(items: readonly T[], u: number): T {
  const total = items.reduce((a, x) => a + x.weight, 0);
  let acc = 0;
  for (const x of items) {
    acc += x.weight / total;
    if (u < acc) return x;
  }
  return items[items.length - 1] as T;
}

export function drawDuration(d: DurationDistribution, rng: RandomStream): number {
  let x: number;
  switch (d.kind) {
    case "fixed":
      return d.value;
    case "lognormal":
      x = d.median * Math.exp(rng.normal(0, d.sigma));
      break;
    case "exponential":
      x = rng.exponential(1 / d.mean);
      break;
  }
  if (d.min !== undefined) x = Math.max(d.min, x);
  if (d.max !== undefined) x = Math.min(d.max, x);
  return x;
}

export function syntheticJobs(spec: SyntheticSpec, rng: (name: string) => RandomStream): JobSpec[] {
  const arrivals = rng("cluster.arrivals");
  const sizes = rng("cluster.sizes");
  const durations = rng("cluster.durations");
  const priorities = rng("cluster.priorities");
  const modelled = rng("cluster.modelled");
  const width = String(spec.jobs).length;
  const jobs: JobSpec[] = [];
  let t = 0;
  for (let i = 0; i < spec.jobs; i++) {
    t += arrivals.exponential(spec.arrivalRate);
    const gpus = pick(spec.sizes, sizes.uniform()).gpus;
    const duration = drawDuration(spec.duration, durations);
    const priority = spec.priorities.length === 0 ? 0 : pick(spec.priorities, priorities.uniform()).priority;
    const uModel = modelled.uniform();
    const uTemplate = modelled.uniform();
    const fits = spec.templates.filter((tp) => tp.scenarios.has(gpus));
    const name = `job-${String(i).padStart(width, "0")}`;
    if (fits.length > 0 && uModel < spec.modelledShare) {
      const template = pick(fits, uTemplate);
      const scenario = { ...(template.scenarios.get(gpus) as NonNullable<ReturnType<typeof template.scenarios.get>>), name: `${name} (${template.name})` };
      jobs.push({ name, arrival: t, priority, gpus, duration, work: { kind: "modelled", scenario } });
    } else {
      jobs.push({ name, arrival: t, priority, gpus, duration, work: { kind: "unmodelled", stepSeconds: spec.stepSeconds, commFraction: spec.commFraction } });
    }
  }
  return jobs;
}
