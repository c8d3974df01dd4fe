/**
 * `npm run bench [-- --json] [-- --quick]`: the benchmark suite. Medians of
 * repeated runs; compare ratios, not single absolute times.
 *
 * It runs as `node --import tsx/esm bench/run.ts`, not through the `tsx` command: that
 * one also hooks `require`, and requiring a CommonJS package through the hook (yaml and
 * commander, which this imports) transfers an ArrayBuffer in the main thread. V8 then
 * assumes any buffer may be detached and checks at every typed-array access for the rest
 * of the process: a plain Float64Array loop took 70 % longer, the queue 10 %, a fluid
 * update 20 %. The CLI (its bundle, plain Node) never does this, so the benchmarks would
 * have measured something slower than what users run.
 */
import { availableParallelism } from "node:os";
import { fluidUpdate, memoryLatency, queueThroughput } from "./engine.ts";
import { formatTable, setRepeats, type BenchResult } from "./harness.ts";
import { stepBench } from "./step.ts";
import { formatPeakMemory, STEP_FULL_CASES, stepFullBench } from "./step-full.ts";
import { ring1024 } from "./network.ts";
import { llama54Days } from "./reliability.ts";
import { cliStartup } from "./cli.ts";
import { loadPublished, placement1000Jobs } from "./experiments.ts";
import { sweepBench, sweepThousand, type SweepBenchResult } from "./sweep.ts";
import { planGpt3, type PlanBenchResult } from "./plan.ts";
import { uncertaintyGpt3 } from "./uncertainty.ts";

const args = new Set(process.argv.slice(2));
const json = args.has("--json");
const quick = args.has("--quick");
if (quick) setRepeats(1);

const results: BenchResult[] = [];
const log = (r: BenchResult): void => {
  results.push(r);
  if (!json) process.stderr.write(`  done: ${r.name}\n`);
};

log(queueThroughput(1e4, quick ? 2e5 : 2e6));
log(queueThroughput(1e6, quick ? 2e5 : 2e6));
for (const total of [1e3, 1e4, 1e5]) log(fluidUpdate(total, "small", quick ? 2e3 : 2e5));
// 1e5 activities, but the updates stay within 1e3 of them: what the total costs by itself,
// apart from the cache misses of touching all of them in random order (it includes the
// read-ahead a model that large turns on, which buys nothing when all is in cache).
log(fluidUpdate(1e5, "small", quick ? 2e3 : 2e5, 1e3));
for (const total of [1e3, 1e5]) log(fluidUpdate(total, "lockstep", quick ? 2e3 : 2e5));
for (const mb of [0.5, 8, 32]) log(memoryLatency(mb));
for (const total of [1e3, 1e4, 1e5]) log(fluidUpdate(total, "large", total >= 1e5 ? 20 : total >= 1e4 ? 200 : 2000));

log(ring1024());
log(stepBench("step: GPT-3 175B, 1,024 H100 (folded)", "experiments/scenarios/gpt3-175b-1024.yaml"));
log(stepBench("step: Llama 3 405B, 16,384 H100 (folded)", "experiments/scenarios/llama3-405b-16k.yaml"));
log(stepBench("step: GPT 1T, 3,072 A100 (Narayanan, folded)", "experiments/published/narayanan2021/gpt-1t.yaml"));
for (const [label, file, full] of STEP_FULL_CASES) log(stepFullBench(label, file, full));
log(llama54Days());
for (const r of cliStartup()) log(r);
log(loadPublished());

// Sweep parallelism: one vs two worker threads on the same 200 points (skipped by --quick).
let sweep: SweepBenchResult | undefined;
let thousand: { one: BenchResult; two: BenchResult } | undefined;
let plan: PlanBenchResult | undefined;
if (!quick) {
  log(uncertaintyGpt3());
  log(placement1000Jobs());
  sweep = await sweepBench();
  if (!json) process.stderr.write(`  done: ${sweep.name}\n`);
  const two = await sweepThousand({ workers: 2 });
  log(two);
  const one = await sweepThousand({ workers: 1 });
  log(one);
  thousand = { one, two };
  plan = await planGpt3();
  log(plan);
}

const find = (n: number, shape: string): BenchResult =>
  results.find((r) => r.name === `fluid update, ${n.toExponential(0)} activities, ${shape} components`) as BenchResult;
const memory = (mb: number): BenchResult => results.find((r) => r.name === `memory: dependent loads over ${mb} MB`) as BenchResult;
const within1e3 = results.find((r) => r.name === "fluid update, 1e+5 activities (updates within 1e+3), small components") as BenchResult;
const ratios = {
  fluidSmallComponentCost1e5Over1e3: find(1e5, "small").microsecondsPer / find(1e3, "small").microsecondsPer,
  fluidSmallComponentCost1e5Within1e3Over1e3: within1e3.microsecondsPer / find(1e3, "small").microsecondsPer,
  fluidLockstepCost1e5Over1e3: find(1e5, "lockstep").microsecondsPer / find(1e3, "lockstep").microsecondsPer,
  // What a cache miss costs beyond the caches, against one within them: the ceiling on
  // how far apart the two update costs above can be brought by touching fewer lines.
  memoryLoad32MbOver0_5Mb: memory(32).microsecondsPer / memory(0.5).microsecondsPer,
};

if (json) {
  process.stdout.write(JSON.stringify({ node: process.version, results, ratios, sweep }, null, 2) + "\n");
} else {
  process.stdout.write(formatTable(results) + "\n\n");
  process.stdout.write(formatPeakMemory(results) + "\n\n");
  process.stdout.write(`update cost, 1e5 vs 1e3 activities in small components, random order: ${ratios.fluidSmallComponentCost1e5Over1e3.toFixed(2)}x\n`);
  process.stdout.write(`update cost, 1e5 vs 1e3 activities in small components, lock-step:    ${ratios.fluidLockstepCost1e5Over1e3.toFixed(2)}x\n`);
  process.stdout.write(`update cost, 1e5 activities with updates within 1e3, vs 1e3:        ${ratios.fluidSmallComponentCost1e5Within1e3Over1e3.toFixed(2)}x\n`);
  process.stdout.write(`a dependent load over 32 MB vs over 0.5 MB (a cache miss's cost):    ${ratios.memoryLoad32MbOver0_5Mb.toFixed(1)}x\n`);
  if (sweep !== undefined) {
    const { oneWorkerSeconds: w1, twoWorkerSeconds: w2, oneWorkerCpuSeconds: c1, twoWorkerCpuSeconds: c2 } = sweep;
    process.stdout.write(`sweep of ${sweep.points} points: 1 worker ${w1.toFixed(2)} s, 2 workers ${w2.toFixed(2)} s, ratio ${sweep.ratio.toFixed(2)} (medians)\n`);
    // Each thread compiles and collects for itself, so two workers need at least the CPU
    // one worker used, and `cores` cores give at most `cores` CPU seconds a second.
    const cores = availableParallelism();
    process.stdout.write(
      `  CPU (all threads): 1 worker ${c1.toFixed(2)} s (${(c1 / w1).toFixed(2)} cores busy), 2 workers ${c2.toFixed(2)} s (${(c2 / w2).toFixed(2)} cores busy); ` +
        `the lowest ratio ${cores} cores allow: ${(c1 / (cores * w1)).toFixed(2)} at the 1-worker run's CPU, ${(c2 / (cores * w1)).toFixed(2)} at the 2-worker run's\n`,
    );
  }
  if (plan !== undefined) {
    process.stdout.write(`plan of GPT-3 175B on 1,024 H100: ${plan.considered} layouts considered, ${plan.simulated} simulated, ${plan.medianSeconds.toFixed(1)} s (issue 25: >= 2,000 considered, < 60 s)\n`);
  }
  if (thousand !== undefined) {
    const { one, two } = thousand;
    process.stdout.write(`sweep of 1000 points: 1 worker ${one.medianSeconds.toFixed(2)} s, 2 workers ${two.medianSeconds.toFixed(2)} s, ratio ${(two.medianSeconds / one.medianSeconds).toFixed(2)}\n`);
  }
}
