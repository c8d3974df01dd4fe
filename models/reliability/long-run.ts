/**
 * A long training run (days to months) as events: the step itself is simulated
 * in full once (it is deterministic, so one step is its steady state), then the
 * run advances in whole steps between the events that matter at this scale —
 * failures, checkpoints, restarts, spares coming back from repair.
 *
 * Failures come from one seeded stream per failure class, so adding a class
 * (or any other stream) never moves another's failure times. Exponential
 * classes are the superposition of their components (rate N·λ); Weibull classes
 * keep a clock per component, renewed when the component is replaced.
 */
import { Simulation } from "../../sim/simulation.ts";
import type { RandomStream } from "../../sim/random.ts";
import type { FailureClass, Scenario } from "../scenario.ts";
import { checkpointCost, checkpointPath, youngDaly, type CheckpointCost } from "./checkpoint.ts";
import { componentCount, FAILURE_CLASSES, NODE_FAILURES, UNEXPECTED } from "./failure-rates.ts";
import { NODES_PER_SCALABLE_UNIT } from "../network/fat-tree.ts";

export interface LongRunInput {
  stepSeconds: number;
  /** Facility power while training, watts. */
  trainingWatts: number;
  /** Facility power while stalled or restarting (GPUs idle), watts. */
  idleWatts: number;
  /**
   * Step time and training power under a facility cap (for runs whose cap
   * changes: a schedule or a fluctuating supply); default: the values above.
   */
  underCap?: (capWatts: number) => StepPower & { duringWrite?: StepPower };
  /**
   * Asynchronous checkpoints whose background write shares the storage tier with the data
   * loaders (data.sharedWithCheckpoints): the step and power while a write is in flight, and
   * the bandwidth the tier gives the write beside the reads, bytes/s. Ignored for synchronous
   * checkpoints (training stops during their write).
   */
  checkpointWrite?: StepPower & { storageBandwidth: number };
  /**
   * A cold first epoch (data.cacheWarmsAfterFirstEpoch): until `steps` steps have been run
   * (rolled-back ones too: their reads warmed the cache all the same) each step is longer
   * by `addedSecondsPerStep` of data wait, at idle power.
   */
  coldEpoch?: { steps: number; addedSecondsPerStep: number };
}

export interface StepPower {
  stepSeconds: number;
  trainingWatts: number;
}

export interface LongRunResult {
  wallclockSeconds: number;
  stepSeconds: number;
  /** Steps whose results were kept (not rolled back by a failure). */
  stepsKept: number;
  tokensTrained: number;
  /** Share of wall-clock time spent on steps that were kept. */
  goodput: number;
  interruptions: { total: number; unexpected: number; planned: number; byCause: Record<FailureClass, number> };
  /** GPU-hours of training thrown away, and of stalls and restarts. */
  lostGpuHours: number;
  checkpoint: CheckpointCost & { intervalSeconds: number; count: number };
  /** Where the wall-clock time went, shares summing to 1. */
  time: { training: number; lostWork: number; checkpoint: number; recovery: number };
  mtbfSeconds: number;
  energyJoules: number;
  /** When the token or step target was reached (if one was set and reached), seconds. */
  timeToTrainSeconds?: number;
  /** Nodes that had no spare and waited for their repair. */
  waitedForRepair: number;
  /** Times the facility cap changed during the run (schedule or supply). */
  capChanges: number;
  /** With checkpointWrite: training slowed while asynchronous writes shared the tier with the reads. */
  checkpointWrite?: {
    /** The step while a write is in flight (at the start: no cap change). */
    stepSeconds: number;
    /** One background write through node links and the shared tier, seconds. */
    writeSeconds: number;
    /** Training time spent while a write was in flight, kept or not. */
    trainingSeconds: number;
    /** Training time the slower steps added, on steps that were kept. */
    addedSeconds: number;
    /** addedSeconds as a share of wall-clock time (the breakdown counts it as `data`). */
    dataShare: number;
  };
  /** With coldEpoch: the time the cold first epoch added (the breakdown counts it as `data`). */
  coldEpoch?: {
    steps: number;
    addedSecondsPerStep: number;
    /** When the cache was warm (the first epoch's steps all run), seconds; absent if never. */
    warmAtSeconds?: number;
    /** Time the cold steps added, on steps that were kept. */
    addedSeconds: number;
    /** addedSeconds as a share of wall-clock time. */
    dataShare: number;
  };
  /** Every failure, in order (kept when asked for: tests and traces). */
  failureLog?: { time: number; cls: FailureClass }[];
}

export interface LongRunOptions {
  logFailures?: boolean;
  /**
   * Called about 200 times over the run with the share done (0-1), for a progress line.
   * Its events only read the state, so results are the same with or without it.
   */
  onProgress?: (fraction: number) => void;
}

/** Progress reports over a run. */
const PROGRESS_TICKS = 200;

type State = "training" | "checkpoint" | "recovering";

export function simulateLongRun(s: Scenario, input: LongRunInput, options: LongRunOptions = {}): LongRunResult {
  const r = s.reliability;
  if (r === undefined) throw new Error("a long run needs reliability settings");
  const gpus = s.cluster.nodes * s.cluster.gpusPerNode;
  const nodes = s.cluster.nodes;
  const sim = new Simulation({ seed: s.seed });
  const cost = checkpointCost(s);

  // Job-level mean time between failures that lose work (all unexpected classes).
  let unexpectedRate = 0;
  for (const c of FAILURE_CLASSES) if (UNEXPECTED.has(c)) unexpectedRate += (componentCount(c, gpus, nodes) * r.failures[c].ratePerHour) / 3600;
  const mtbf = unexpectedRate > 0 ? 1 / unexpectedRate : Infinity;
  const interval = r.checkpointInterval === "young-daly" ? (Number.isFinite(mtbf) ? youngDaly(cost.stallSeconds, mtbf) : Infinity) : r.checkpointInterval;

  const tokensPerStep = s.workload.globalBatch * s.workload.seqLength;
  const targetSteps = s.run.tokens !== undefined ? s.run.tokens / tokensPerStep : s.run.duration === undefined ? s.run.steps : Infinity;
  const duration = s.run.duration ?? Infinity;

  // ---- state ----
  // Work is counted in steps; time in seconds. A failure rolls progress back to the
  // last completed checkpoint, and the training time since that snapshot is lost.
  let state: State = "training";
  let stateSince = 0;
  let stepSeconds = input.stepSeconds;
  let trainingWatts = input.trainingWatts;
  // Checkpoint writes beside the data reads: while any is in flight the step is the slower one.
  const shared = r.checkpointMode === "async" ? input.checkpointWrite : undefined;
  let base: StepPower = input;
  let duringWrite: StepPower | undefined = shared;
  let writesInFlight = 0;
  let writeEpoch = 0; // a failure abandons the writes in flight
  let writeTraining = 0; // training seconds while writing
  let added = 0; // of which the slower step added
  let savedAdded = 0; // `added` when the saved work was done
  let lostAdded = 0;
  // The cold first epoch: steps run so far (kept or not) and the time its slower steps added.
  const coldSteps = input.coldEpoch !== undefined && input.coldEpoch.addedSecondsPerStep > 0 ? input.coldEpoch.steps : 0;
  const coldExtra = coldSteps > 0 ? (input.coldEpoch?.addedSecondsPerStep ?? 0) : 0;
  let cold = coldSteps > 0;
  let warmAt: number | undefined;
  let warmEvent = -1;
  let stepsRun = 0;
  let coldAdded = 0;
  let savedColdAdded = 0;
  let lostColdAdded = 0;
  let progress = 0; // steps done, including work not yet checkpointed
  let saved = 0; // steps safe in the last completed checkpoint
  let trainingTime = 0; // seconds spent training, kept or not
  let savedTrainingTime = 0; // trainingTime when the saved work was done
  let sinceCheckpoint = 0;
  let pendingWrite = -1; // progress an asynchronous write in flight will save
  let pendingWriteTime = 0;
  let recoveryEnd = 0;
  let spares = r.spareNodes;
  let waitingForSpares = 0;
  const shares = { training: 0, lostWork: 0, checkpoint: 0, recovery: 0 };
  const byCause = Object.fromEntries(FAILURE_CLASSES.map((c) => [c, 0])) as Record<FailureClass, number>;
  let checkpoints = 0;
  let energy = 0;
  let finishedAt: number | undefined;
  let nextCheckpoint = -1;
  let targetEvent = -1;
  let resume = -1;
  let done = false;

  const account = (): void => {
    const now = sim.now;
    const dt = now - stateSince;
    if (dt <= 0) return;
    if (state === "training") {
      const extra = cold ? coldExtra : 0;
      progress += dt / stepSeconds;
      stepsRun += dt / stepSeconds;
      trainingTime += dt;
      if (extra > 0) coldAdded += (dt * extra) / stepSeconds;
      if (writesInFlight > 0) {
        writeTraining += dt;
        added += dt * (1 - (base.stepSeconds + extra) / stepSeconds);
      }
      sinceCheckpoint += dt;
      shares.training += dt;
      energy += trainingWatts * dt;
    } else if (state === "checkpoint") {
      shares.checkpoint += dt;
      energy += input.idleWatts * dt;
    } else {
      shares.recovery += dt;
      energy += input.idleWatts * dt;
    }
    stateSince = now;
  };

  const finish = (): void => {
    if (done) return;
    account();
    done = true;
    sim.queue.stop();
  };

  // The step now: the base or the one during a write, plus the cold epoch's wait at idle power.
  const applyStep = (): void => {
    const now = writesInFlight > 0 && duringWrite !== undefined ? duringWrite : base;
    const extra = cold ? coldExtra : 0;
    stepSeconds = now.stepSeconds + extra;
    trainingWatts = extra > 0 ? (now.trainingWatts * now.stepSeconds + input.idleWatts * extra) / stepSeconds : now.trainingWatts;
  };

  const scheduleWarm = (): void => {
    if (warmEvent >= 0) sim.queue.cancel(warmEvent);
    warmEvent = -1;
    if (!cold || state !== "training") return;
    warmEvent = sim.after(Math.max(0, (coldSteps - stepsRun) * stepSeconds), () => {
      warmEvent = -1;
      if (state !== "training" || done) return;
      account();
      if (stepsRun >= coldSteps * (1 - 1e-12)) {
        cold = false;
        warmAt = sim.now;
        applyStep();
        scheduleTarget();
      } else scheduleWarm();
    });
  };

  const scheduleTarget = (): void => {
    scheduleWarm();
    if (targetEvent >= 0) sim.queue.cancel(targetEvent);
    targetEvent = -1;
    if (!Number.isFinite(targetSteps) || state !== "training") return;
    targetEvent = sim.after(Math.max(0, (targetSteps - progress) * stepSeconds), () => {
      targetEvent = -1;
      if (state !== "training" || done) return;
      account();
      if (progress >= targetSteps * (1 - 1e-12)) {
        finishedAt = sim.now;
        finish();
      }
    });
  };

  const scheduleTrainingEvents = (): void => {
    if (nextCheckpoint >= 0) sim.queue.cancel(nextCheckpoint);
    nextCheckpoint = -1;
    if (Number.isFinite(interval)) nextCheckpoint = sim.after(Math.max(0, interval - sinceCheckpoint), startCheckpoint);
    scheduleTarget();
  };

  // Checkpoints are activities on the storage path, so whatever else writes there (other
  // jobs, a slower storage tier) slows them the way it would on the machine.
  const path = checkpointPath(s);
  const hostCopy = sim.fluid.addResource({ name: "checkpoint:hbm→host", kind: "pcie", capacity: path.hostCopy });
  const nodeLinks = sim.fluid.addResource({ name: "checkpoint:node→storage", kind: "nic", capacity: path.nodeLinks });
  // Asynchronous writes are its only users, so a tier shared with the reads is its bandwidth beside them.
  const storage = sim.fluid.addResource({ name: "checkpoint:storage", kind: "storage", capacity: shared?.storageBandwidth ?? path.storage });

  const setWrites = (n: number): void => {
    account();
    writesInFlight = n;
    applyStep();
    scheduleTarget();
  };

  const startCheckpoint = (): void => {
    nextCheckpoint = -1;
    if (state !== "training" || done) return;
    account();
    state = "checkpoint";
    checkpoints++;
    const snapshot = progress;
    const snapshotTime = trainingTime;
    const snapshotAdded = added;
    const snapshotColdAdded = coldAdded;
    if (targetEvent >= 0) sim.queue.cancel(targetEvent);
    targetEvent = -1;
    const sync = r.checkpointMode === "sync";
    const stallWork: [typeof storage, number][] = sync
      ? [
          [hostCopy, cost.bytes],
          [nodeLinks, cost.bytes],
          [storage, cost.bytes],
        ]
      : [[hostCopy, cost.bytes]];
    sim.fluid.start({
      label: "checkpoint",
      work: stallWork,
      onComplete: () => {
        if (state !== "checkpoint" || done) return;
        account();
        sinceCheckpoint = 0;
        if (sync) {
          saved = snapshot;
          savedTrainingTime = snapshotTime;
          savedColdAdded = snapshotColdAdded;
        } else {
          pendingWrite = snapshot;
          pendingWriteTime = snapshotTime;
          const epoch = writeEpoch;
          if (shared !== undefined) setWrites(writesInFlight + 1);
          sim.fluid.start({
            label: "checkpoint:write",
            work: [
              [nodeLinks, cost.bytes],
              [storage, cost.bytes],
            ],
            onComplete: () => {
              if (pendingWrite === snapshot) {
                saved = Math.max(saved, snapshot);
                savedTrainingTime = Math.max(savedTrainingTime, pendingWriteTime);
                savedAdded = Math.max(savedAdded, snapshotAdded);
                savedColdAdded = Math.max(savedColdAdded, snapshotColdAdded);
                pendingWrite = -1;
              }
              if (shared !== undefined && epoch === writeEpoch && !done) setWrites(writesInFlight - 1);
            },
          });
        }
        state = "training";
        scheduleTrainingEvents();
      },
    });
  };

  const resumeTraining = (): void => {
    resume = -1;
    if (done) return;
    account();
    state = "training";
    scheduleTrainingEvents();
  };

  const log: { time: number; cls: FailureClass }[] = [];
  const interrupt = (cls: FailureClass): void => {
    if (done) return;
    account();
    byCause[cls]++;
    if (options.logFailures) log.push({ time: sim.now, cls });
    if (state !== "recovering") {
      // Planned maintenance checkpoints first; anything else loses what was not saved.
      if (UNEXPECTED.has(cls)) {
        shares.lostWork += trainingTime - savedTrainingTime;
        lostAdded += added - savedAdded;
        lostColdAdded += coldAdded - savedColdAdded;
        progress = saved;
      } else saved = progress;
      savedTrainingTime = trainingTime;
      savedAdded = added;
      savedColdAdded = coldAdded;
      if (shared !== undefined && writesInFlight > 0) {
        // The job's writer dies with it: the slower step ends here (its bytes stay on the tier).
        writeEpoch++;
        writesInFlight = 0;
        applyStep();
      }
      sinceCheckpoint = 0;
      pendingWrite = -1;
      if (nextCheckpoint >= 0) sim.queue.cancel(nextCheckpoint);
      nextCheckpoint = -1;
      if (targetEvent >= 0) sim.queue.cancel(targetEvent);
      targetEvent = -1;
    }
    state = "recovering";
    let ready = sim.now + r.detectionTime + r.restartTime;
    if (NODE_FAILURES.has(cls)) {
      // A leaf switch takes every node under it; anything else one node.
      const lost = cls === "switch" && r.failures.switch.blastRadius === "leaf" ? nodesPerLeaf(s) : 1;
      if (spares >= lost) {
        spares -= lost;
        sim.after(r.repairTime, () => {
          spares += lost;
        });
      } else {
        // Not enough spares: wait for the failed hardware itself to be repaired.
        waitingForSpares += lost;
        ready = Math.max(ready, sim.now + r.repairTime);
      }
    }
    if (ready > recoveryEnd) {
      recoveryEnd = ready;
      if (resume >= 0) sim.queue.cancel(resume);
      resume = sim.at(recoveryEnd, resumeTraining);
    }
  };

  // ---- power-cap changes: a schedule, or a fluctuating supply ----
  const power = s.cluster.power;
  const setCap = (cap: number): void => {
    if (done || input.underCap === undefined) return;
    account();
    const next = input.underCap(cap);
    base = next;
    if (shared !== undefined) duringWrite = next.duringWrite ?? next;
    applyStep();
    capChanges++;
    scheduleTarget();
  };
  let capChanges = 0;
  let scheduled = power.facilityCap ?? Infinity;
  let supplied = Infinity;
  for (const step of power.facilityCapSchedule ?? []) {
    sim.at(step.at, () => {
      scheduled = step.watts;
      setCap(Math.min(scheduled, supplied));
    });
  }
  const supply = power.facilitySupply;
  if (supply !== undefined) {
    const rng = sim.rng("power-supply");
    // Levels in 5 % steps of the variable source, so step times can be cached per level.
    const level = (): number => supply.gridWatts + (supply.variableWatts * Math.round(20 * rng.uniform())) / 20;
    const change = (): void => {
      supplied = level();
      setCap(Math.min(scheduled, supplied));
      sim.after(rng.exponential(1 / supply.meanPeriodSeconds), change);
    };
    sim.at(0, change);
  }

  // ---- failure processes ----
  for (const cls of FAILURE_CLASSES) {
    const proc = r.failures[cls];
    if (!(proc.ratePerHour > 0)) continue;
    const n = componentCount(cls, gpus, nodes);
    const rng: RandomStream = sim.rng(`failures/${cls}`);
    const ratePerSecond = proc.ratePerHour / 3600;
    if (proc.distribution === "exponential" || (proc.shape ?? 1) === 1) {
      const arrive = (): void => {
        interrupt(cls);
        sim.after(rng.exponential(n * ratePerSecond), arrive);
      };
      sim.after(rng.exponential(n * ratePerSecond), arrive);
    } else {
      // Weibull with the same mean time between failures per component: scale = mean / Γ(1 + 1/k).
      const k = proc.shape as number;
      const scale = 1 / ratePerSecond / gamma(1 + 1 / k);
      for (let i = 0; i < n; i++) {
        const arrive = (): void => {
          interrupt(cls);
          sim.after(rng.weibull(k, scale), arrive);
        };
        sim.after(rng.weibull(k, scale), arrive);
      }
    }
  }

  applyStep();
  scheduleTrainingEvents();
  if (Number.isFinite(duration)) sim.at(duration, finish);
  const onProgress = options.onProgress;
  if (onProgress !== undefined) {
    // The share of the duration, or of the target's steps (read, never accounted: no rounding moves).
    const end = Number.isFinite(duration) ? duration : targetSteps * input.stepSeconds;
    const share = (): number => {
      if (Number.isFinite(duration)) return sim.now / duration;
      const steps = progress + (state === "training" ? (sim.now - stateSince) / stepSeconds : 0);
      return Math.min(1, steps / targetSteps);
    };
    const tick = (): void => {
      if (done) return;
      onProgress(share());
      // Never the only event left: the run would otherwise end later than without progress.
      if (sim.queue.pending > 0) sim.after(end / PROGRESS_TICKS, tick);
    };
    if (Number.isFinite(end) && end > 0) sim.after(end / PROGRESS_TICKS, tick);
  }
  sim.run();
  if (!done) finish();

  const wall = sim.now;
  const keptTraining = shares.training - shares.lostWork;
  const stepsKept = Math.floor(progress + 1e-9);
  const unexpected = FAILURE_CLASSES.filter((c) => UNEXPECTED.has(c)).reduce((a, c) => a + byCause[c], 0);
  const out: LongRunResult = {
    wallclockSeconds: wall,
    stepSeconds: input.stepSeconds,
    stepsKept,
    tokensTrained: stepsKept * tokensPerStep,
    goodput: wall > 0 ? keptTraining / wall : 0,
    interruptions: { total: unexpected + byCause.maintenance, unexpected, planned: byCause.maintenance, byCause },
    lostGpuHours: (gpus * (wall - keptTraining)) / 3600,
    checkpoint: { ...cost, intervalSeconds: interval, count: checkpoints },
    time: {
      training: keptTraining / wall,
      lostWork: shares.lostWork / wall,
      checkpoint: shares.checkpoint / wall,
      recovery: shares.recovery / wall,
    },
    mtbfSeconds: mtbf,
    energyJoules: energy,
    waitedForRepair: waitingForSpares,
    capChanges,
  };
  if (shared !== undefined) {
    const keptAdded = added - lostAdded;
    out.checkpointWrite = {
      stepSeconds: shared.stepSeconds,
      writeSeconds: cost.bytes / Math.min(shared.storageBandwidth, path.nodeLinks),
      trainingSeconds: writeTraining,
      addedSeconds: keptAdded,
      dataShare: wall > 0 ? keptAdded / wall : 0,
    };
  }
  if (input.coldEpoch !== undefined) {
    const keptCold = coldAdded - lostColdAdded;
    out.coldEpoch = {
      steps: input.coldEpoch.steps,
      addedSecondsPerStep: input.coldEpoch.addedSecondsPerStep,
      ...(warmAt !== undefined ? { warmAtSeconds: warmAt } : {}),
      addedSeconds: keptCold,
      dataShare: wall > 0 ? keptCold / wall : 0,
    };
  }
  if (finishedAt !== undefined) out.timeToTrainSeconds = finishedAt;
  if (options.logFailures) out.failureLog = log;
  return out;
}

/** Nodes below one leaf switch: a rail's leaf serves a scalable unit, a classic leaf a few nodes. */
function nodesPerLeaf(s: Scenario): number {
  const t = s.cluster.network.topology;
  if (t === "rail-optimized" || t === "nvl72") return Math.min(s.cluster.nodes, NODES_PER_SCALABLE_UNIT);
  if (t === "torus") return 1;
  return Math.max(1, Math.floor(s.cluster.network.switchRadix / 2 / s.cluster.gpusPerNode));
}

/** Lanczos approximation of Γ(x) (for Weibull scales). */
function gamma(x: number): number {
  const g = 7;
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x));
  x -= 1;
  let a = c[0] as number;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += (c[i] as number) / (x + i);
  return Math.sqrt(2 * Math.PI) * t ** (x + 0.5) * Math.exp(-t) * a;
}
