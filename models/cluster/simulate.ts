/**
 * Many jobs on one cluster, on the event engine: arrivals, starts,
 * completions, evictions and slowdown changes are events; between them every
 * running job advances at one step per step time.
 *
 * Scheduling (a pass runs after every instant at which jobs arrive or end):
 * - fifo: jobs start in submit order; the first that does not fit blocks the
 *   rest (head-of-line blocking);
 * - backfill (EASY): as fifo, but when the head job does not fit it gets a
 *   reservation — the earliest time the running jobs' projected ends free
 *   enough GPUs (and power) for it, and the GPUs it would get then — and later
 *   jobs may start now if they fit and either end before that time (by their
 *   step time alone, as a user's walltime request) or leave the reserved GPUs
 *   and the reserved power alone; so the head job is never delayed by them;
 * - priority: jobs start in priority order (then submit order), blocking as
 *   fifo; with preemption, a job that does not fit evicts running jobs of
 *   lower priority, lowest first (most recently started first among equals),
 *   the fewest that make room. An evicted job loses the work done since its
 *   last checkpoint (every `checkpointInterval` of training, default 30 min)
 *   and goes back to the queue in its place.
 * Placement is placement.ts; power-aware admission starts a job only if the
 * facility power with it running stays under the cap, counting every running
 * job at its highest draw (so the cap holds whatever contention does later).
 *
 * Contention (contention.ts): whenever the running set changes, each running
 * job's communication multiplier M (its probe collectives' time with every
 * running job communicating, over its time alone on a compact placement) is
 * brought up to date, and its step time becomes
 *
 *   step = step_alone · (1 − c + c · M)
 *
 * with c the share of its step that is inter-node communication: the step
 * simulation's `network` share for modelled jobs, `commFraction` for the rest.
 * This is an approximation: for modelled jobs it scales the *exposed* network
 * time; communication hidden behind compute that contention would expose is
 * not captured, and neither is a job's own traffic pattern changing with
 * placement beyond its probe collectives.
 */
import { Simulation } from "../../sim/simulation.ts";
import { buildTopology } from "../network/build.ts";
import type { ClusterSpec } from "../scenario.ts";
import { ContentionModel, type JobTraffic, type TrafficShape } from "./contention.ts";
import { Allocation, placementGeometry } from "./placement.ts";
import { commGpuWatts, controlFacility, facilityWatts, type JobUnderLimit } from "./power.ts";
import { prepareJob, StepCache } from "./prepare.ts";
import { sharedStorageSteps, tierUser, withStorageWait } from "./storage-share.ts";
import { syntheticJobs } from "./synthetic.ts";
import type { JobState } from "./job-state.ts";
import { jobResult, runSummary } from "./results.ts";
import {
  type ClusterConfig,
  type ClusterExperimentResult,
  type ClusterRunResult,
  type JobSpec,
  type SchedulerSpec,
  type SeriesPoint,
} from "./types.ts";


export interface ClusterRunOptions {
  /** Step simulations shared across runs (a comparison's runs share their modelled jobs). */
  stepCache?: StepCache;
  /** Label of the run in comparisons. */
  label?: string;
}

class ClusterSimulation {
  private readonly sim: Simulation;
  private readonly cluster: ClusterSpec;
  private readonly scheduler: SchedulerSpec;
  private readonly alloc: Allocation;
  private readonly contention: ContentionModel;
  private readonly cap: number | undefined;
  private readonly jobs: JobState[] = [];
  private readonly queue: JobState[] = [];
  private running: JobState[] = [];
  private passPending = false;
  private runningChanged = false;
  private runCounter = 0;
  private componentCache = new Map<string, Map<number, number>>();
  private readonly aloneCache = new Map<number, number>();
  private readonly referenceCache = new Map<string, number>();
  private readonly commWatts: number;
  private contentionUpdates = 0;
  private cacheHits = 0;
  private lastCompletion = 0;
  // Series and integrals.
  private readonly utilisation: SeriesPoint[] = [];
  private readonly power: SeriesPoint[] = [];
  private lastRecord = 0;
  private lastBusy = 0;
  private lastWatts = 0;
  private busyIntegral = 0;
  private lastQueued = false;
  private queuedSeconds = 0;
  private busyWhileQueued = 0;
  private energy = 0;
  private overCap = 0;
  private throttling = false;
  private lastThrottling = false;
  private throttledTime = 0;
  private peakWatts = 0;

  constructor(
    private readonly config: ClusterConfig,
    private readonly options: ClusterRunOptions,
  ) {
    this.sim = new Simulation({ seed: config.seed });
    this.cluster = config.cluster;
    this.scheduler = config.scheduler;
    this.alloc = new Allocation(placementGeometry(this.cluster));
    this.contention = new ContentionModel(buildTopology(this.cluster));
    this.cap = this.cluster.power.facilityCap;
    this.commWatts = commGpuWatts(this.cluster);
  }

  run(): ClusterRunResult {
    const cache = this.options.stepCache ?? new StepCache();
    const runsBefore = cache.runs;
    const reusedBefore = cache.reused;
    const specs: JobSpec[] = this.config.source.kind === "jobs" ? this.config.source.jobs : syntheticJobs(this.config.source.spec, (n) => this.sim.rng(n));
    specs.forEach((spec, i) => {
      const p = prepareJob(this.cluster, spec, i, cache);
      const shape: TrafficShape = spec.work.kind === "modelled" ? { kind: "plan", plan: spec.work.scenario.parallelism } : { kind: "ring" };
      const job: JobState = {
        p,
        status: "pending",
        shape,
        signature: shape.kind === "ring" ? `ring/${spec.gpus}` : `plan/${spec.gpus}/${JSON.stringify(shape.plan)}`,
        admissionWatts: Math.max(p.gpuWatts, this.commWatts),
        progress: 0,
        saved: 0,
        runElapsed: 0,
        lastUpdate: 0,
        stepSeconds: p.stepSecondsAlone,
        multiplier: 1,
        slowed: false,
        storageSlowed: false,
        storageSlowedSeconds: 0,
        clock: 1,
        throttledSeconds: 0,
        watts: p.gpuWatts,
        placement: null,
        runId: 0,
        traffic: null,
        completion: -1,
        lastStart: 0,
        firstStart: null,
        end: null,
        queuedSince: spec.arrival,
        queueSeconds: 0,
        runSeconds: 0,
        slowedSeconds: 0,
        stepsExecuted: 0,
        preemptions: 0,
        lostSteps: 0,
        segments: [],
      };
      this.jobs.push(job);
      this.sim.at(spec.arrival, () => this.arrive(job));
    });
    this.record();
    this.sim.run(this.config.horizon);
    const allDone = this.jobs.every((j) => j.status === "done" || j.status === "rejected");
    const end = allDone || this.config.horizon === undefined ? this.lastCompletion : this.config.horizon;
    this.finish(end);
    return this.result(end, cache.runs - runsBefore, cache.reused - reusedBefore);
  }

  // ---- events ----

  private arrive(job: JobState): void {
    const g = job.p.spec.gpus;
    if (!this.alloc.fitsEmpty(g)) {
      job.status = "rejected";
      const nodes = Math.ceil(g / this.cluster.gpusPerNode);
      job.reason = `needs ${g} GPUs (${nodes} node${nodes === 1 ? "" : "s"}); the cluster has ${this.alloc.totalGpus} GPUs on ${this.cluster.nodes} nodes`;
      return;
    }
    if (this.scheduler.powerAware && this.cap !== undefined) {
      const alone = facilityWatts(this.cluster, g, g * job.admissionWatts);
      if (alone > this.cap) {
        job.status = "rejected";
        job.reason = `alone it would take the facility to ${(alone / 1e6).toPrecision(4)} MW, over the cap of ${(this.cap / 1e6).toPrecision(4)} MW`;
        return;
      }
    }
    job.status = "queued";
    job.queuedSince = this.sim.now;
    this.enqueue(job);
    this.requestPass();
  }

  private complete(job: JobState): void {
    this.advance(job);
    job.progress = job.p.steps;
    job.completion = -1;
    job.status = "done";
    job.end = this.sim.now;
    this.lastCompletion = this.sim.now;
    this.closeSegment(job, false);
    this.alloc.release(job.placement as number[]);
    this.running = this.running.filter((j) => j !== job);
    this.runningChanged = true;
    this.requestPass();
  }

  private requestPass(): void {
    if (this.passPending) return;
    this.passPending = true;
    this.sim.at(this.sim.now, () => {
      this.passPending = false;
      this.pass();
    });
  }

  // ---- scheduling ----

  private before(a: JobState, b: JobState): boolean {
    if (this.scheduler.policy === "priority" && a.p.spec.priority !== b.p.spec.priority) return a.p.spec.priority > b.p.spec.priority;
    if (a.p.spec.arrival !== b.p.spec.arrival) return a.p.spec.arrival < b.p.spec.arrival;
    return a.p.index < b.p.index;
  }

  private enqueue(job: JobState): void {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.before(this.queue[mid] as JobState, job)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, job);
  }

  private busyAdmissionWatts(): number {
    let w = 0;
    for (const j of this.running) w += j.p.spec.gpus * j.admissionWatts;
    return w;
  }

  private powerFits(busyGpus: number, busyWatts: number): boolean {
    if (!this.scheduler.powerAware || this.cap === undefined) return true;
    return facilityWatts(this.cluster, busyGpus, busyWatts) <= this.cap;
  }

  /** Placement for `job` on `alloc` if it fits there with `busyWatts` of running jobs; null otherwise. */
  private fit(job: JobState, alloc: Allocation, busyWatts: number): number[] | null {
    const g = job.p.spec.gpus;
    if (!this.powerFits(alloc.busyGpus + g, busyWatts + g * job.admissionWatts)) return null;
    return alloc.place(g, this.scheduler.placement);
  }

  private pass(): void {
    for (const j of this.running) this.advance(j);
    let i = 0;
    while (i < this.queue.length) {
      const job = this.queue[i] as JobState;
      const placement = this.fit(job, this.alloc, this.busyAdmissionWatts());
      if (placement !== null) {
        this.queue.splice(i, 1);
        this.start(job, placement);
        continue;
      }
      if (this.scheduler.policy === "priority" && this.scheduler.preemption) {
        const victims = this.victimsFor(job);
        if (victims !== null) {
          this.queue.splice(i, 1);
          for (const v of victims) this.evict(v);
          this.start(job, this.fit(job, this.alloc, this.busyAdmissionWatts()) as number[]);
          for (const v of victims) this.enqueue(v);
          i = 0;
          continue;
        }
      }
      if (this.scheduler.policy === "backfill") this.backfill(i);
      break;
    }
    if (this.runningChanged) this.updateContention();
    this.record();
  }

  private start(job: JobState, placement: number[]): void {
    const now = this.sim.now;
    this.alloc.assign(placement, job.p.index);
    job.status = "running";
    job.placement = placement;
    job.runId = ++this.runCounter;
    job.traffic = this.contention.traffic(job.shape, placement);
    job.lastUpdate = now;
    job.runElapsed = 0;
    job.saved = job.progress;
    job.queueSeconds += now - job.queuedSince;
    job.firstStart ??= now;
    job.lastStart = now;
    job.segments.push({ start: now, end: now, preempted: false });
    job.stepSeconds = job.p.stepSecondsAlone;
    job.multiplier = 1;
    job.slowed = false;
    job.storageSlowed = false;
    this.running.push(job);
    this.runningChanged = true;
  }

  private evict(job: JobState): void {
    this.advance(job);
    const lost = job.progress - job.saved;
    job.lostSteps += lost;
    job.progress = job.saved;
    job.preemptions++;
    if (job.completion >= 0) this.sim.queue.cancel(job.completion);
    job.completion = -1;
    this.closeSegment(job, true);
    this.alloc.release(job.placement as number[]);
    this.running = this.running.filter((j) => j !== job);
    job.status = "queued";
    job.queuedSince = this.sim.now;
    this.runningChanged = true;
  }

  /** Fewest running jobs of lower priority whose eviction lets `head` start; null if none do. */
  private victimsFor(head: JobState): JobState[] | null {
    const pri = head.p.spec.priority;
    const candidates = this.running
      .filter((r) => r.p.spec.priority < pri)
      .sort((a, b) => a.p.spec.priority - b.p.spec.priority || b.lastStart - a.lastStart || b.p.index - a.p.index);
    if (candidates.length === 0) return null;
    let trial = this.alloc.clone();
    let watts = this.busyAdmissionWatts();
    const chosen: JobState[] = [];
    let fits = false;
    for (const v of candidates) {
      trial.release(v.placement as number[]);
      watts -= v.p.spec.gpus * v.admissionWatts;
      chosen.push(v);
      if (this.fit(head, trial, watts) !== null) {
        fits = true;
        break;
      }
    }
    if (!fits) return null;
    // Spare the higher-priority victims that turn out not to be needed.
    for (let k = chosen.length - 2; k >= 0; k--) {
      const v = chosen[k] as JobState;
      const t2 = trial.clone();
      t2.assign(v.placement as number[], v.p.index);
      const w2 = watts + v.p.spec.gpus * v.admissionWatts;
      if (this.fit(head, t2, w2) !== null) {
        trial = t2;
        watts = w2;
        chosen.splice(k, 1);
      }
    }
    return chosen;
  }

  private projectedEnd(j: JobState): number {
    return this.sim.now + (j.p.steps - j.progress) * j.stepSeconds;
  }

  /** EASY backfill behind the blocked job at queue[head]. */
  private backfill(head: number): void {
    const blocked = this.queue[head] as JobState;
    const g = blocked.p.spec.gpus;
    // The reservation: release running jobs in order of projected end until the head fits.
    const trial = this.alloc.clone();
    let watts = this.busyAdmissionWatts();
    const ends = this.running.map((j) => ({ j, end: this.projectedEnd(j) })).sort((a, b) => a.end - b.end || a.j.p.index - b.j.p.index);
    let shadow = Infinity;
    let reserved: number[] | null = null;
    for (const { j, end } of ends) {
      trial.release(j.placement as number[]);
      watts -= j.p.spec.gpus * j.admissionWatts;
      reserved = this.fit(blocked, trial, watts);
      if (reserved !== null) {
        shadow = end;
        break;
      }
    }
    if (reserved === null) return;
    // Facility watts left at the reservation once the head runs (for jobs still running then).
    let spare = Infinity;
    if (this.scheduler.powerAware && this.cap !== undefined) spare = this.cap - facilityWatts(this.cluster, trial.busyGpus + g, watts + g * blocked.admissionWatts);
    const masked = this.alloc.clone();
    masked.block(reserved);
    const pue = this.cluster.power.pue;
    // Whether g GPUs can be placed only shrinks as this scan starts jobs, and a size that
    // cannot be placed means no larger one can: skip those without trying (an overloaded
    // trace queues thousands of jobs, and trying each on every pass was quadratic in jobs).
    let unplaceable = Infinity;
    let unplaceableMasked = Infinity;
    let k = head + 1;
    while (k < this.queue.length) {
      const cand = this.queue[k] as JobState;
      const cg = cand.p.spec.gpus;
      let placement: number[] | null = null;
      if (cg <= this.alloc.totalGpus - this.alloc.busyGpus) {
        const endsBy = this.sim.now + (cand.p.steps - cand.progress) * cand.p.stepSecondsAlone;
        if (endsBy <= shadow) {
          if (cg < unplaceable && this.powerFits(this.alloc.busyGpus + cg, this.busyAdmissionWatts() + cg * cand.admissionWatts)) {
            placement = this.alloc.place(cg, this.scheduler.placement);
            if (placement === null) unplaceable = cg;
          }
        } else {
          const extra = pue * cg * (cand.admissionWatts - this.cluster.gpu.idleWatts);
          if (extra <= spare && cg < unplaceableMasked) {
            placement = masked.place(cg, this.scheduler.placement);
            if (placement === null) unplaceableMasked = cg;
            if (placement !== null && !this.powerFits(this.alloc.busyGpus + cg, this.busyAdmissionWatts() + cg * cand.admissionWatts)) placement = null;
            if (placement !== null) spare -= extra;
          }
        }
      }
      if (placement === null) {
        k++;
        continue;
      }
      this.queue.splice(k, 1);
      masked.assign(placement, cand.p.index);
      this.start(cand, placement);
    }
  }

  // ---- progress ----

  private advance(job: JobState): void {
    const now = this.sim.now;
    const dt = now - job.lastUpdate;
    if (dt <= 0) return;
    const interval = job.p.spec.checkpointInterval ?? this.scheduler.checkpointInterval;
    const before = job.runElapsed;
    const after = before + dt;
    const k = Math.floor(after / interval);
    if (k > Math.floor(before / interval)) job.saved = Math.min(job.p.steps, job.progress + (k * interval - before) / job.stepSeconds);
    const steps = dt / job.stepSeconds;
    job.progress = Math.min(job.p.steps, job.progress + steps);
    job.stepsExecuted += steps;
    job.runSeconds += dt;
    if (job.slowed) job.slowedSeconds += dt;
    if (job.storageSlowed) job.storageSlowedSeconds += dt;
    if (job.clock < 1) job.throttledSeconds += dt;
    job.runElapsed = after;
    job.lastUpdate = now;
  }

  private closeSegment(job: JobState, preempted: boolean): void {
    const seg = job.segments[job.segments.length - 1];
    if (seg !== undefined) {
      seg.end = this.sim.now;
      seg.preempted = preempted;
    }
  }

  private solveAlone(job: JobState): number {
    let s = this.aloneCache.get(job.runId);
    if (s === undefined) {
      s = this.contention.solve([job.traffic as JobTraffic])[0] as number;
      this.aloneCache.set(job.runId, s);
    }
    return s;
  }

  private reference(job: JobState): number {
    let s = this.referenceCache.get(job.signature);
    if (s === undefined) {
      const compact = Array.from({ length: job.p.spec.gpus }, (_, i) => i);
      s = this.contention.solve([this.contention.traffic(job.shape, compact)])[0] as number;
      this.referenceCache.set(job.signature, s);
    }
    return s;
  }

  /** Bring every running job's multiplier, step time and completion event up to date. */
  private updateContention(): void {
    this.runningChanged = false;
    this.contentionUpdates++;
    const running = [...this.running].sort((a, b) => a.p.index - b.p.index);
    this.running = running;
    // Components: jobs linked through shared links.
    const parent = running.map((_, i) => i);
    const find = (i: number): number => {
      while (parent[i] !== i) {
        parent[i] = parent[parent[i] as number] as number;
        i = parent[i] as number;
      }
      return i;
    };
    const owner = new Map<number, number>();
    running.forEach((j, i) => {
      for (const l of (j.traffic as JobTraffic).sharedLinks) {
        const o = owner.get(l);
        if (o === undefined) owner.set(l, i);
        else {
          const a = find(i);
          const b = find(o);
          if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
        }
      }
    });
    const groups = new Map<number, number[]>();
    running.forEach((_, i) => {
      const r = find(i);
      const list = groups.get(r);
      if (list === undefined) groups.set(r, [i]);
      else list.push(i);
    });
    const cache = new Map<string, Map<number, number>>();
    for (const members of groups.values()) {
      const jobs = members.map((i) => running[i] as JobState);
      const key = jobs.map((j) => j.runId).join(",");
      let seconds = this.componentCache.get(key);
      if (seconds !== undefined) this.cacheHits++;
      else {
        const solved = this.contention.solve(jobs.map((j) => j.traffic as JobTraffic));
        seconds = new Map(jobs.map((j, k) => [j.runId, solved[k] as number]));
        if (jobs.length === 1) this.aloneCache.set((jobs[0] as JobState).runId, solved[0] as number);
      }
      cache.set(key, seconds);
      for (const j of jobs) {
        const shared = seconds.get(j.runId) as number;
        const ref = this.reference(j);
        const multiplier = ref > 0 && shared > 0 ? shared / ref : 1;
        j.slowed = jobs.length > 1 && shared > this.solveAlone(j) * (1 + 1e-9);
        j.multiplier = multiplier;
      }
    }
    this.componentCache = cache;
    this.applyPower();
  }

  /**
   * Step time and power of every running job from its contention multiplier and the
   * facility power controller's GPU limit (power.ts); completions move with them.
   */
  private applyPower(): void {
    const control = controlFacility(
      this.cluster,
      this.running.map((j) => ({
        gpus: j.p.spec.gpus,
        stepSecondsAlone: j.p.stepSecondsAlone,
        aloneWatts: j.p.gpuWatts,
        clockShare: j.p.clockShare,
        phaseWatts: j.p.phaseWatts,
        commShare: j.p.commShare,
        multiplier: j.multiplier,
      })),
      this.alloc.busyGpus,
      this.cap,
    );
    this.throttling = control.limitWatts !== null;
    // Jobs on one storage preset share it, reads and checkpoint writes (storage-share.ts); the GPUs wait at idle or the power floor.
    const onTier = sharedStorageSteps(this.running.map((j, i) => (j.p.reader === undefined ? undefined : tierUser(j.p.reader, (control.jobs[i] as JobUnderLimit).stepSeconds, j.p.spec.checkpointInterval ?? this.scheduler.checkpointInterval, j.placement, this.cluster.gpusPerNode))));
    const waitWatts = Math.max(this.cluster.gpu.idleWatts, (this.cluster.power.powerFloor ?? 0) * this.cluster.gpu.tdpWatts);
    this.running.forEach((job, i) => {
      const u = withStorageWait(control.jobs[i] as JobUnderLimit, onTier[i], waitWatts);
      job.storageSlowed = u !== control.jobs[i];
      job.clock = u.clock;
      job.watts = u.gpuWatts;
      if (u.stepSeconds === job.stepSeconds && job.completion >= 0) return;
      job.stepSeconds = u.stepSeconds;
      if (job.completion >= 0) this.sim.queue.cancel(job.completion);
      const at = this.sim.now + Math.max(0, job.p.steps - job.progress) * u.stepSeconds;
      job.completion = this.sim.at(at, () => this.complete(job));
    });
  }

  // ---- series ----

  private record(): void {
    const now = this.sim.now;
    this.integrate(now);
    let busyWatts = 0;
    for (const j of this.running) busyWatts += j.p.spec.gpus * j.watts;
    const busy = this.alloc.busyGpus;
    const watts = facilityWatts(this.cluster, busy, busyWatts);
    this.lastBusy = busy;
    this.lastWatts = watts;
    this.lastQueued = this.queue.length > 0;
    this.lastThrottling = this.throttling;
    this.peakWatts = Math.max(this.peakWatts, watts);
    push(this.utilisation, now, busy);
    push(this.power, now, watts);
  }

  private integrate(t: number): void {
    const dt = t - this.lastRecord;
    if (dt > 0) {
      this.busyIntegral += this.lastBusy * dt;
      if (this.lastQueued) {
        this.queuedSeconds += dt;
        this.busyWhileQueued += this.lastBusy * dt;
      }
      this.energy += this.lastWatts * dt;
      if (this.cap !== undefined && this.lastWatts > this.cap * (1 + 1e-12)) this.overCap += dt;
      if (this.lastThrottling) this.throttledTime += dt;
      this.lastRecord = t;
    }
  }

  private finish(end: number): void {
    // The clock may stop at the horizon: bring everything up to it.
    for (const j of this.running) {
      this.advance(j);
      this.closeSegment(j, false);
    }
    for (const j of this.queue) j.queueSeconds += Math.max(0, end - j.queuedSince);
    this.integrate(end);
  }

  // ---- results ----

  private result(end: number, stepSimulations: number, stepSimulationsReused: number): ClusterRunResult {
    const jobs = this.jobs.map((j) => jobResult(j, j.placement === null ? 0 : this.alloc.unitsSpanned(j.placement)));
    const summary = runSummary(jobs, end, this.alloc.totalGpus, {
      busyIntegral: this.busyIntegral,
      busyWhileQueued: this.busyWhileQueued,
      queuedSeconds: this.queuedSeconds,
      energy: this.energy,
      lastWatts: this.lastWatts,
      peakWatts: this.peakWatts,
      overCap: this.overCap,
      throttledTime: this.throttledTime,
    });
    const totalGpus = this.alloc.totalGpus;
    if (this.cap !== undefined) summary.facilityCapWatts = this.cap;
    const s = this.scheduler;
    return {
      name: this.config.name,
      label: this.options.label ?? `${s.policy}${s.preemption ? " + preemption" : ""}, ${s.placement}${s.powerAware ? ", power-aware" : ""}`,
      seed: this.config.seed,
      gpus: totalGpus,
      nodes: this.cluster.nodes,
      topology: this.contention.topology.describe(),
      scheduler: { ...s },
      summary,
      jobs,
      utilisation: this.utilisation,
      power: this.power,
      simulation: {
        events: this.sim.queue.processed,
        contentionUpdates: this.contentionUpdates,
        solves: this.contention.solves,
        cacheHits: this.cacheHits,
        stepSimulations,
        stepSimulationsReused,
      },
    };
  }
}

function push(series: SeriesPoint[], time: number, value: number): void {
  const last = series[series.length - 1];
  if (last !== undefined && last.time === time) {
    last.value = value;
    const prev = series[series.length - 2];
    if (prev !== undefined && prev.value === value) series.pop();
    return;
  }
  if (last !== undefined && last.value === value) return;
  series.push({ time, value });
}

/** One run of a cluster file (its scheduler as written). */
export function simulateCluster(config: ClusterConfig, options: ClusterRunOptions = {}): ClusterRunResult {
  return new ClusterSimulation(config, options).run();
}

/** A cluster file: one run, or one per value of its `compare` axis (sharing step simulations). */
export function runClusterExperiment(config: ClusterConfig, options: { stepCache?: StepCache } = {}): ClusterExperimentResult {
  const stepCache = options.stepCache ?? new StepCache();
  const runs: ClusterRunResult[] = [];
  const cmp = config.compare;
  if (cmp === undefined) {
    runs.push(simulateCluster(config, { stepCache }));
  } else if (cmp.key === "placement") {
    for (const v of cmp.values) runs.push(simulateCluster({ ...config, scheduler: { ...config.scheduler, placement: v } }, { stepCache, label: `placement: ${v}` }));
  } else if (cmp.key === "policy") {
    for (const v of cmp.values) runs.push(simulateCluster({ ...config, scheduler: { ...config.scheduler, policy: v } }, { stepCache, label: `policy: ${v}` }));
  } else {
    for (const v of cmp.values) runs.push(simulateCluster({ ...config, scheduler: { ...config.scheduler, powerAware: v } }, { stepCache, label: `powerAware: ${v}` }));
  }
  const out: ClusterExperimentResult = {
    name: config.name,
    seed: config.seed,
    gpus: config.cluster.nodes * config.cluster.gpusPerNode,
    nodes: config.cluster.nodes,
    runs,
    notes: config.notes ?? [],
  };
  if (config.description !== undefined) out.description = config.description;
  if (cmp !== undefined) out.compared = cmp.key;
  return out;
}
