/**
 * Runs a StepProgram on a RankSet on the event engine.
 *
 * Each rank has its own SM, HBM, NVLink and NIC resources, a compute stream that
 * runs its stage's pipeline schedule pass by pass, and a data-parallel stream
 * for gradient reductions and FSDP gathers (a compute op can wait for a list it
 * enqueued). Passes wait for their inputs from neighbouring
 * stages, sent point-to-point to the rank at the same position (that waiting is
 * the pipeline bubble). A collective starts when the last member of its group
 * reaches it and ends when the last member's share of the traffic is done, so a
 * slow GPU holds its groups back; in a folded set every group has one member.
 * After the last pass a rank waits for its gradients to be reduced, then runs
 * its after-step plan (tied embeddings, optimizer, ZeRO's all-gather). The step
 * ends when the last rank is done.
 *
 * Each member's share of a collective is its own activity on its own links,
 * rather than one activity over the whole ring: a 128-member data-parallel
 * activity would tie every GPU of a stage into one fluid component, and each of
 * millions of events would re-solve all of it. The end barrier gives the ring's
 * "slowest member sets the pace" instead.
 *
 * Power stays per stage: StepPower keeps one meter per stage driven by the
 * stage's first rank, and its clock applies to every rank of the stage.
 */
import type { EventQueue } from "../../sim/event-queue.ts";
import type { Activity, FluidModel, Resource, SegmentListener } from "../../sim/fluid.ts";
import type { Simulation } from "../../sim/simulation.ts";
import { FluidSpec, Uncontended } from "../../sim/uncontended.ts";
import { CommSms } from "./comm-interference.ts";
import { peakFlops } from "../compute/kernel.ts";
import { rankOfVirtualStage } from "../parallel/stages.ts";
import { StepPower, type StageClocks } from "../power/step-power.ts";
import type { Scenario } from "../scenario.ts";
import { BUBBLE, settledWork, StepAccounts, stepResult, type StepSimulation } from "./accounting.ts";
import { CATEGORY_INDEX, categoryOfResourceKind } from "../categories.ts";
import { COLLECTIVE, DELAY, DP_STREAM, ENQUEUE, GATHER_STREAM, ROLE_RESOURCES, roleCapacities, ROLES, SM, WAIT, WORK, type Op, type StepProgram } from "./program.ts";
import type { RankSet } from "./ranks.ts";
import { AsyncSends } from "./async-sends.ts";
import { ListQueues } from "./list-queues.ts";

/** What to do when an op's work is done, by kind; the activity's data says whose. */
const COMPUTE_WORK = 0;
const DP_WORK = 1;
const SHARE = 2;
const SEND = 3;
/** Most works one GPU has timed outside the fluid model at once. */
const MAX_UNCONTENDED_PER_GPU = 6;

export interface ExecuteOptions {
  record: boolean;
  powerControl: boolean;
  mode: StepSimulation["mode"];
  modeReason: string;
}

/**
 * One step: its state (fields, set up by `run`) and the handlers that advance it
 * (methods), a class so that each handler is one function for the life of the
 * process (perf P30). The `name$` fields are handlers bound to this step.
 */
export class StepExecutor implements SegmentListener, StageClocks {
  prog!: StepProgram;
  ranks!: RankSet;
  R!: number;
  N!: number;
  pp!: number;
  V!: number;
  micro!: number;
  queue!: EventQueue;
  fluid!: FluidModel;
  res!: Resource[];
  rankPeak!: Float64Array;
  u!: Uncontended;
  commSms!: CommSms;
  useUncontended!: boolean;
  spec!: FluidSpec;
  power!: StepPower;
  acc!: StepAccounts;
  stageOf!: Int32Array;
  metered!: Uint8Array;
  plans!: Op[][];
  dpLists!: Op[][];
  // Per rank (perf P31): pass in the schedule, plan and op in it, whether in a pass, what it waits for.
  fwdArrived!: Uint8Array;
  bwdArrived!: Uint8Array;
  passIndex!: Int32Array;
  plan!: Int32Array;
  item!: Int32Array;
  inPass!: Uint8Array;
  waitKey!: Int32Array;
  waitSince!: Float64Array;
  arriveTime!: Float64Array;
  dpArriveTime!: Float64Array;
  shareDoneTime!: Float64Array;
  sendTo!: Int32Array;
  sendKey!: Int32Array;
  gradsWaitSince!: Float64Array;
  endTimes!: Float64Array;
  // Data-parallel stream: a FIFO of op lists per rank, a ring in one typed array; head and
  // tail count lists started and enqueued, dpDone lists finished.
  dpDone!: Int32Array;
  /** Per rank and token slot: the enqueue (tail count) it names; per rank: the one compute waits for (-1: none). */
  tokenSeq!: Int32Array;
  waitSeq!: Int32Array;
  dpQueues!: ListQueues;
  dpCurrent!: Int32Array;
  dpItem!: Int32Array;
  /** Barrier counters per channel, indexed by the group's first rank; a group's shared completion event. */
  arrivedCount!: Int32Array[];
  doneCount!: Int32Array[];
  groupEvent!: Float64Array[];
  /** Per channel and member: its uncontended share of the group's current collective (-1: none). */
  memberWork!: Int32Array;
  activities!: number;
  finished!: number;
  uncontendedEnd$!: (id: number) => void;
  groupEnd$!: (key: number) => void;
  computeDelayDone$!: (g: number) => void;
  dpDelayDone$!: (g: number) => void;
  latencyDone$!: (key: number) => void;
  startSend$!: (g: number) => void;
  asyncDelivered$!: (id: number) => void;
  sends!: AsyncSends;

  run(s: Scenario, prog: StepProgram, ranks: RankSet, sim: Simulation, o: ExecuteOptions): StepSimulation {
    // An object literal, not `this.x = () => …` one by one (perf P32).
    Object.assign(this, {
      uncontendedEnd$: (id: number): void => this.uncontendedEnd(id),
      groupEnd$: (key: number): void => this.groupEnd(key),
      computeDelayDone$: (g: number): void => this.computeWorkDone(g),
      dpDelayDone$: (s: number): void => this.dpWorkDone(s),
      asyncDelivered$: (id: number): void => this.asyncDelivered(id),
      sends: new AsyncSends((id: number): void => this.startWork(this.sends.op[id] as Op, this.sends.from[id] as number, this.sends.to[id] as number, -1 - id, SEND)),
      latencyDone$: (key: number): void => this.latencyDone(key),
      startSend$: (g: number): void => this.startSend(g),
    });
    const p = prog.p;
    const R = ranks.perStage;
    const N = ranks.count;
    Object.assign(this, { prog, ranks, R, N, pp: p.pp, V: prog.V, micro: prog.micro, plans: prog.plans, dpLists: prog.dpLists, queue: sim.queue, fluid: sim.fluid });
    const fluid = sim.fluid;
    const gpu = prog.gpu;
    const peak = peakFlops(gpu, prog.precision);
    const res: Resource[] = new Array<Resource>(N * ROLES);
    this.res = res;
    this.rankPeak = new Float64Array(N);
    // Every role exists on every rank, used or not: uncontended.ts lays resource ids out by role.
    const capacity = roleCapacities(peak, gpu, s.cluster.network.nicBandwidth, prog.hostCopyBandwidth);
    for (let g = 0; g < N; g++) {
      const b = g * ROLES;
      const name = ranks.names[g] as string;
      this.rankPeak[g] = peak * (ranks.speed[g] as number);
      for (let k = 0; k < ROLES; k++) {
        const r = ROLE_RESOURCES[k] as (typeof ROLE_RESOURCES)[number];
        res[b + k] = fluid.addResource({ name: `${name}.${r.suffix}`, kind: r.kind, capacity: k === SM ? (this.rankPeak[g] as number) : (capacity[k] as number) });
      }
    }
    // perf P37
    const done = [COMPUTE_WORK, DP_WORK, SHARE, SEND].map((kind) => (a: Activity): void => {
      const data = a.data as number;
      if (this.useUncontended) this.u.fluidDone(a);
      fluid.recycle(a);
      this.finishOp(kind, data);
    });
    this.spec = new FluidSpec(done, res[0] as Resource);
    this.useUncontended = ranks.uncontended;
    // perf P38
    this.acc = new StepAccounts(ranks, p.pp, o.record, Int8Array.from(fluid.resources, (r) => CATEGORY_INDEX[categoryOfResourceKind(r.kind)]));
    // Before the power model, which may set clocks at once.
    this.u = new Uncontended(sim.queue, fluid, N, ROLES, MAX_UNCONTENDED_PER_GPU, this.acc);
    this.commSms = new CommSms(gpu, N, 2, this.u, res, this.rankPeak, this.spec);
    this.power = new StepPower(sim.queue, this, s, new Array<number>(p.pp).fill(ranks.stageGpus), o.powerControl, sim.rng("power-supply"));
    this.acc.attach(this.power);
    this.stageOf = this.acc.stageOf;
    this.metered = this.acc.metered;
    this.power.start(s.cluster.power.controllerInterval);
    fluid.segmentListener = this;

    const slots = R * prog.V * prog.micro;
    this.fwdArrived = new Uint8Array(slots);
    this.bwdArrived = new Uint8Array(slots);
    // Data-parallel streams s = rank + N × stream (program.ts DP_STREAM): reductions, then FSDP gathers.
    for (const k of ["passIndex", "plan", "item", "sendTo", "sendKey", "dpItem", "dpDone"] as const) this[k] = new Int32Array(k.startsWith("dp") ? 2 * N : N);
    this.tokenSeq = new Int32Array(N * prog.tokens);
    this.waitSeq = new Int32Array(N).fill(-1);
    for (const k of ["waitSince", "arriveTime", "dpArriveTime", "shareDoneTime", "endTimes"] as const) this[k] = new Float64Array(k.startsWith("dp") ? 2 * N : N);
    this.inPass = new Uint8Array(N);
    this.waitKey = new Int32Array(N).fill(-1);
    this.gradsWaitSince = new Float64Array(N).fill(-1);
    this.dpCurrent = new Int32Array(2 * N).fill(-1);
    this.dpQueues = new ListQueues(2 * N, prog.dpCapacity);
    const channels = ranks.channelCount.length;
    this.arrivedCount = Array.from({ length: channels }, () => new Int32Array(N));
    this.doneCount = Array.from({ length: channels }, () => new Int32Array(N));
    this.groupEvent = Array.from({ length: channels }, () => new Float64Array(N));
    this.memberWork = new Int32Array(channels * N).fill(-1);
    this.activities = 0;
    this.finished = 0;

    for (let g = 0; g < N; g++) {
      // The overlapped ZeRO parameter gather's first bucket, on the gather stream under token 0 (param-gather.ts).
      const start = prog.startList[this.stageOf[g] as number] as number;
      if (start >= 0) (this.tokenSeq[g * prog.tokens] = this.dpQueues.tail[g + N * GATHER_STREAM] as number), this.dpEnqueue(g + N * GATHER_STREAM, start);
      this.nextPass(g);
    }
    sim.run();
    if (this.finished !== N) throw new Error(`step: ${N - this.finished} of ${N} GPUs never finished (a collective or send was left waiting)`);

    return stepResult(this.acc, ranks, p.pp, this.power, {
      endTimes: this.endTimes,
      ...settledWork(fluid, res, this.u, N),
      memory: prog.memory,
      events: sim.queue.processed,
      activities: this.activities,
      mode: o.mode,
      modeReason: o.modeReason,
    });
  }

  /** StageClocks: the power model sets a stage's clock; every rank of it follows at its own speed, less the SMs its communication holds. */
  setClock(stage: number, clock: number): void {
    this.commSms.setClock(stage * this.R, (stage + 1) * this.R, clock);
  }

  /** The fluid model's report of a stretch: compute-stream work carries its rank as data, data-parallel-stream work -(rank + 1). */
  onSegment(a: Activity, t0: number, t1: number, bottleneck: Resource | null): void {
    this.acc.onUncontendedSegment(a.data as number, a.label, t0, t1, bottleneck === null ? -1 : bottleneck.id);
  }

  finishOp(kind: number, data: number): void {
    if (kind === COMPUTE_WORK) this.computeWorkDone(data);
    else if (kind === DP_WORK) this.dpWorkDone(-1 - data);
    else if (kind === SHARE) this.shareDone(data);
    else this.sendDone(data);
  }

  /** Start `op` (on `g`, and `to` for a send): at its own pace if it can (perf P33), else in the fluid model. */
  startWork(op: Op, g: number, to: number, data: number, kind: number): void {
    this.activities++;
    const rate = this.useUncontended ? this.u.rate(op, g, to) : 0;
    if (rate === 0) {
      this.startFluid(op, g, to, data, kind);
      return;
    }
    const u = this.u;
    const id = u.begin(op, g, to, data, kind, rate);
    let at = u.due[id] as number;
    if (kind === COMPUTE_WORK) {
      // A launch delay next: if nothing changes at the due time, one event does both (perf P34).
      // Only a stage's metered GPU reports its power class, so only there must it change on time.
      const next = (this.plans[this.plan[g] as number] as Op[])[(this.item[g] as number) + 1];
      if (next !== undefined && next.kind === DELAY && (next.power === op.power || this.metered[g] === 0)) {
        u.tail[id] = next.seconds;
        at += next.seconds;
      }
    }
    u.event[id] = this.queue.scheduleCall(at, this.uncontendedEnd$, id);
  }

  /** Start `op` (on `g`, and `to` for a send) in the fluid model. */
  startFluid(op: Op, g: number, to: number, data: number, kind: number): void {
    if (this.useUncontended) {
      this.u.startFluid(op, g, to, data, kind, 1, this.spec);
      return;
    }
    // perf P39: nothing runs outside the fluid model, so nothing to count or move.
    const spec = this.spec;
    const roles = op.roles;
    const n = roles.length;
    const work = spec.scratch(n);
    for (let i = 0; i < n; i++) {
      const k = roles[i] as number;
      const t = work[i] as [Resource, number];
      t[0] = this.res[k < ROLES ? g * ROLES + k : to * ROLES + k - ROLES] as Resource;
      t[1] = op.amounts[i] as number;
    }
    spec.work = work;
    spec.label = op.label;
    spec.data = data;
    spec.size = op.size === op.size ? op.size : undefined;
    spec.onComplete = spec.done[kind] as (a: Activity) => void;
    this.fluid.start(spec);
  }

  uncontendedEnd(id: number): void {
    const u = this.u;
    const g = u.data[id] as number;
    const kind = u.kind[id] as number;
    const tail = u.tail[id] as number;
    const due = u.due[id] as number;
    u.end(id);
    if (tail > 0) {
      // The launch delay (compute stream only), as computeStep would have run it at the due time.
      const delay = (this.plans[this.plan[g] as number] as Op[])[(this.item[g] as number) + 1] as Op;
      this.acc.charge(g, delay.category, tail);
      this.acc.span(g, delay.label, delay.category, due, due + tail);
      this.item[g] = (this.item[g] as number) + 2;
      this.computeStep(g);
      return;
    }
    this.finishOp(kind, g);
  }

  /** Every member of a group starts its share of a collective at once: equal shares, one event. */
  startShares(base: number, stride: number, count: number, op: Op, channel: number, dp: boolean): void {
    const u = this.u;
    const off = this.N * Math.max(0, DP_STREAM[channel] as number);
    let handle = -1;
    let groupDue = NaN;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      const data = dp ? -1 - (m + off) : m;
      this.activities++;
      const rate = this.useUncontended ? u.rate(op, m, -1) : 0;
      if (rate === 0) {
        this.memberWork[channel * this.N + m] = -1;
        this.startFluid(op, m, -1, data, SHARE);
        continue;
      }
      const id = u.begin(op, m, -1, data, SHARE, rate);
      this.memberWork[channel * this.N + m] = id;
      const due = u.due[id] as number;
      if (handle < 0) {
        handle = this.queue.scheduleCall(due, this.groupEnd$, channel * this.N + base);
        (this.groupEvent[channel] as Float64Array)[base] = handle;
        groupDue = due;
      }
      if (due === groupDue) {
        u.event[id] = handle;
        u.shared[id] = 1;
      } else u.event[id] = this.queue.scheduleCall(due, this.uncontendedEnd$, id);
    }
  }

  groupEnd(key: number): void {
    const channel = Math.floor(key / this.N);
    const base = key - channel * this.N;
    const handle = (this.groupEvent[channel] as Float64Array)[base] as number;
    const stride = this.ranks.channelStride[channel] as number;
    const count = this.ranks.channelCount[channel] as number;
    for (let k = 0; k < count; k++) {
      const id = this.memberWork[channel * this.N + base + k * stride] as number;
      if (this.u.waitsOn(id, handle) && this.u.due[id] === this.queue.now) this.uncontendedEnd(id); // else stale: its shares ended in the fluid model
    }
  }

  // ---- compute stream ----
  computeStep(g: number): void {
    const ops = this.plans[this.plan[g] as number] as Op[];
    let i = this.item[g] as number;
    while (i < ops.length) {
      const op = ops[i] as Op;
      if (op.kind === ENQUEUE) {
        const s = g + this.N * op.stream;
        if (op.token >= 0) this.tokenSeq[g * this.prog.tokens + op.token] = this.dpQueues.tail[s] as number;
        this.dpEnqueue(s, op.gradList);
        i++;
        continue;
      }
      if (op.kind === WAIT) {
        const seq = this.tokenSeq[g * this.prog.tokens + op.token] as number;
        if ((this.dpDone[g + this.N * op.stream] as number) > seq) {
          i++;
          continue;
        }
        // Resumed by dpStep when that list is done (WAITs are for the gather stream).
        this.item[g] = i;
        this.waitSeq[g] = seq;
        this.waitSince[g] = this.queue.now;
        this.acc.setClass(g, "idle");
        return;
      }
      this.item[g] = i;
      this.acc.setClass(g, op.power);
      if (op.kind === WORK) this.startWork(op, g, -1, g, COMPUTE_WORK);
      else if (op.kind === DELAY) {
        const now = this.queue.now;
        this.acc.charge(g, op.category, op.seconds);
        this.acc.span(g, op.label, op.category, now, now + op.seconds);
        this.queue.scheduleCall(now + op.seconds, this.computeDelayDone$, g);
      } else this.arrive(g, op, op.channel);
      return;
    }
    this.item[g] = i;
    if (this.inPass[g] === 1) this.passDone(g);
    else this.planFinished(g);
  }

  computeWorkDone(g: number): void {
    this.item[g] = (this.item[g] as number) + 1;
    this.computeStep(g);
  }

  // ---- data-parallel streams: s = rank + N × stream ----
  dpEnqueue(s: number, list: number): void {
    this.dpQueues.push(s, list);
    if (this.dpCurrent[s] === -1) this.dpNext(s);
  }

  dpNext(s: number): void {
    const g = s % this.N;
    if (this.dpQueues.empty(s)) {
      if (this.dpCurrent[s] !== -1) this.acc.background(g, -1);
      this.dpCurrent[s] = -1;
      this.commSms.dpOp(s, undefined);
      if (s === g && (this.gradsWaitSince[g] as number) >= 0) this.gradsReduced(g);
      return;
    }
    if (this.dpCurrent[s] === -1) this.acc.background(g, +1);
    this.dpCurrent[s] = this.dpQueues.take(s);
    this.dpItem[s] = 0;
    this.dpStep(s);
  }

  dpStep(s: number): void {
    const g = s % this.N;
    const ops = this.dpLists[this.dpCurrent[s] as number] as Op[];
    const i = this.dpItem[s] as number;
    if (i >= ops.length) {
      this.dpDone[s] = (this.dpDone[s] as number) + 1;
      this.dpNext(s);
      const seq = s === g ? -1 : (this.waitSeq[g] as number);
      if (seq >= 0 && (this.dpDone[s] as number) > seq) {
        // The compute stream waited for this list (an FSDP unit for its gather).
        this.waitSeq[g] = -1;
        this.acc.chargeSpan(g, ((this.plans[this.plan[g] as number] as Op[])[this.item[g] as number] as Op).label, this.prog.gradsCategory, this.waitSince[g] as number, this.queue.now);
        this.computeWorkDone(g);
      }
      return;
    }
    const op = ops[i] as Op;
    this.commSms.dpOp(s, op);
    if (op.kind === COLLECTIVE) this.arrive(-1 - s, op, op.channel);
    else if (op.kind === WORK) this.startWork(op, g, -1, -1 - s, DP_WORK);
    else this.queue.scheduleCall(this.queue.now + op.seconds, this.dpDelayDone$, s);
  }

  dpWorkDone(s: number): void {
    this.dpItem[s] = (this.dpItem[s] as number) + 1;
    this.dpStep(s);
  }

  // ---- collectives: barrier, each member's share, barrier, latency ----
  // A member is `m` (compute stream) or `-1 - s` (data-parallel stream s = m + N × stream).
  opOf(member: number): Op {
    return member >= 0 ? ((this.plans[this.plan[member] as number] as Op[])[this.item[member] as number] as Op) : ((this.dpLists[this.dpCurrent[-1 - member] as number] as Op[])[this.dpItem[-1 - member] as number] as Op);
  }

  arrive(member: number, op: Op, channel: number): void {
    const s = member >= 0 ? member : -1 - member;
    const g = s % this.N;
    const off = this.N * Math.max(0, DP_STREAM[channel] as number);
    const now = this.queue.now;
    // Compute-stream waits are charged here; the data-parallel stream runs behind the
    // compute stream and its waits matter only once compute waits for the gradients.
    if (member >= 0) this.arriveTime[g] = now;
    else this.dpArriveTime[s] = now;
    const base = this.ranks.groupBase[channel * this.N + g] as number;
    const counts = this.arrivedCount[channel] as Int32Array;
    const count = this.ranks.channelCount[channel] as number;
    if (++counts[base]! < count) return;
    counts[base] = 0;
    const stride = this.ranks.channelStride[channel] as number;
    const dp = member < 0;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      if (!dp) {
        if (now - (this.arriveTime[m] as number) > 0) this.acc.chargeSpan(m, this.acc.record ? `wait:${op.label}` : "", BUBBLE, this.arriveTime[m] as number, now);
      } else if ((this.gradsWaitSince[m] as number) >= 0) {
        // m's compute is done and waits for its gradients, which wait here for a slower
        // replica: that is imbalance, not the fabric. (Until m's own stream got here, it
        // was still moving earlier gradients: that part is the fabric's.)
        const since = this.gradsWaitSince[m] as number;
        const from = Math.max(since, this.dpArriveTime[m + off] as number);
        if (now > from) {
          this.chargeGradsWait(m, since, from);
          this.acc.chargeSpan(m, "wait:dp-peers", BUBBLE, from, now);
          this.gradsWaitSince[m] = now;
        }
      }
    }
    if (op.roles.length === 0) this.latencyPhase(base, stride, count, op, channel);
    else this.startShares(base, stride, count, op, channel, dp);
  }

  shareDone(member: number): void {
    const dp = member < 0;
    const g = (dp ? -1 - member : member) % this.N;
    const op = this.opOf(member);
    const channel = op.channel;
    const now = this.queue.now;
    if (!dp) this.shareDoneTime[g] = now;
    const base = this.ranks.groupBase[channel * this.N + g] as number;
    const counts = this.doneCount[channel] as Int32Array;
    const count = this.ranks.channelCount[channel] as number;
    if (++counts[base]! < count) return;
    counts[base] = 0;
    const stride = this.ranks.channelStride[channel] as number;
    if (!dp) {
      // A ring runs at its slowest member's pace: the others' links stay busy until it is done.
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        if (now - (this.shareDoneTime[m] as number) > 0) this.acc.chargeSpan(m, op.label, op.linkCategory, this.shareDoneTime[m] as number, now);
      }
    }
    this.latencyPhase(base, stride, count, op, channel);
  }

  latencyPhase(base: number, stride: number, count: number, op: Op, channel: number): void {
    if (op.latency <= 0) {
      this.release(base, stride, count, channel);
      return;
    }
    const now = this.queue.now;
    if ((DP_STREAM[channel] as number) < 0) {
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        this.acc.charge(m, op.latencyCategory, op.latency);
        this.acc.span(m, op.latencyLabel, op.latencyCategory, now, now + op.latency);
      }
    }
    // One event for the whole group: every member waits the same latency.
    this.queue.scheduleCall(now + op.latency, this.latencyDone$, channel * this.N + base);
  }

  latencyDone(key: number): void {
    const channel = Math.floor(key / this.N);
    const base = key - channel * this.N;
    this.release(base, this.ranks.channelStride[channel] as number, this.ranks.channelCount[channel] as number, channel);
  }

  release(base: number, stride: number, count: number, channel: number): void {
    // Released members may reach their next collective at once; the counters are already reset.
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      if ((DP_STREAM[channel] as number) >= 0) this.dpWorkDone(m + this.N * (DP_STREAM[channel] as number));
      else this.computeWorkDone(m);
    }
  }

  // ---- pipeline ----
  nextPass(g: number): void {
    const st = this.stageOf[g] as number;
    const i = this.passIndex[g] as number;
    const kinds = this.prog.schedKind[st] as Uint8Array;
    if (i >= kinds.length) {
      this.finish(g);
      return;
    }
    const q = g - st * this.R;
    const vs = (this.prog.schedChunk[st] as Int32Array)[i]! * this.pp + st;
    const mb = (this.prog.schedMb[st] as Int32Array)[i] as number;
    const forward = kinds[i] === 0;
    const slot = (q * this.V + vs) * this.micro + mb;
    const ready = forward ? vs === 0 || this.fwdArrived[slot] === 1 : vs === this.V - 1 || this.bwdArrived[slot] === 1;
    if (ready) this.runPass(g);
    else {
      this.waitKey[g] = (forward ? 0 : this.V * this.micro) + vs * this.micro + mb;
      this.waitSince[g] = this.queue.now;
      this.acc.setClass(g, "idle");
    }
  }

  arrived(g: number, key: number): void {
    if (this.waitKey[g] !== key) return;
    this.acc.chargeSpan(g, "wait:pipeline", BUBBLE, this.waitSince[g] as number, this.queue.now);
    this.waitKey[g] = -1;
    this.runPass(g);
  }

  runPass(g: number): void {
    const st = this.stageOf[g] as number;
    const i = this.passIndex[g] as number;
    const prog = this.prog;
    const vs = (prog.schedChunk[st] as Int32Array)[i]! * this.pp + st;
    const first = (prog.schedMb[st] as Int32Array)[i] === 0;
    this.plan[g] = (prog.schedKind[st] as Uint8Array)[i] === 0 ? ((first ? prog.firstForwardPlan : prog.forwardPlan)[vs] as number) : (prog.schedLastBackward[st] as Uint8Array)[i] === 1 ? (prog.lastBackwardPlan[vs] as number) : (prog.backwardPlan[vs] as number);
    this.item[g] = 0;
    this.inPass[g] = 1;
    this.computeStep(g);
  }

  passDone(g: number): void {
    const st = this.stageOf[g] as number;
    const i = this.passIndex[g] as number;
    this.passIndex[g] = i + 1;
    const q = g - st * this.R;
    const vs = (this.prog.schedChunk[st] as Int32Array)[i]! * this.pp + st;
    const mb = (this.prog.schedMb[st] as Int32Array)[i] as number;
    const forward = (this.prog.schedKind[st] as Uint8Array)[i] === 0;
    let toVs: number;
    if (forward && vs < this.V - 1) toVs = vs + 1;
    else if (!forward && vs > 0) toVs = vs - 1;
    else {
      this.nextPass(g);
      return;
    }
    const to = rankOfVirtualStage(toVs, this.pp) * this.R + q;
    this.sendTo[g] = to;
    // Arrival key, with the direction in its offset (as waitKey encodes it).
    this.sendKey[g] = (forward ? 0 : this.V * this.micro) + toVs * this.micro + mb;
    // Megatron's p2p is synchronous, the sender continuing once its send completes, unless overlapped (overlapP2P).
    if (to === g || this.prog.overlapP2P) {
      if (to === g) {
        this.deliver(to, this.sendKey[g] as number);
      } else {
        this.acc.background(g, +1);
        this.sends.send(g, to, this.sendKey[g] as number, this.sendOpOf(g));
      }
      this.nextPass(g);
      return;
    }
    const t = this.sendOpOf(g);
    this.acc.setClass(g, "comm");
    if (t.latency > 0) {
      this.acc.charge(g, t.latencyCategory, t.latency);
      this.queue.scheduleCall(this.queue.now + t.latency, this.startSend$, g);
    } else this.startSend(g);
  }

  sendOpOf(g: number): Op {
    const to = this.sendTo[g] as number;
    const sameNode = this.ranks.node[g] === this.ranks.node[to];
    return (this.prog.sendOps[sameNode ? 1 : 0] as Op[])[(this.sendKey[g] as number) < this.V * this.micro ? 0 : 1] as Op;
  }

  startSend(g: number): void {
    this.startWork(this.sendOpOf(g), g, this.sendTo[g] as number, g, SEND);
  }

  sendDone(g: number): void {
    // An overlapped send (data −1 − id) arrives after its latency.
    if (g < 0) {
      this.sends.transferred(-1 - g);
      this.queue.scheduleCall(this.queue.now + (this.sends.op[-1 - g] as Op).latency, this.asyncDelivered$, -1 - g);
      return;
    }
    this.deliver(this.sendTo[g] as number, this.sendKey[g] as number);
    this.nextPass(g);
  }

  asyncDelivered(id: number): void {
    const s = this.sends;
    this.acc.background(s.from[id] as number, -1);
    s.release(id);
    this.deliver(s.to[id] as number, s.key[id] as number);
  }

  deliver(to: number, key: number): void {
    const q = to - (this.stageOf[to] as number) * this.R;
    const backward = key >= this.V * this.micro;
    const local = backward ? key - this.V * this.micro : key;
    if (backward) this.bwdArrived[q * this.V * this.micro + local] = 1;
    else this.fwdArrived[q * this.V * this.micro + local] = 1;
    this.arrived(to, key);
  }

  // ---- end of the step ----
  finish(g: number): void {
    const list = this.prog.finalGradList[this.stageOf[g] as number] as number;
    if (list >= 0) this.dpEnqueue(g, list);
    this.acc.setClass(g, "idle");
    if (this.dpCurrent[g] === -1) this.afterGrads(g);
    else this.gradsWaitSince[g] = this.queue.now;
  }

  /** Compute waited on its own gradients' transfers from `since` to `until`. */
  chargeGradsWait(g: number, since: number, until: number): void {
    if (until > since) this.acc.chargeSpan(g, "wait:dp-grads", this.prog.gradsCategory, since, until);
  }

  gradsReduced(g: number): void {
    const since = this.gradsWaitSince[g] as number;
    this.gradsWaitSince[g] = -1;
    this.chargeGradsWait(g, since, this.queue.now);
    this.afterGrads(g);
  }

  afterGrads(g: number): void {
    this.plan[g] = this.prog.afterPlan[this.stageOf[g] as number] as number;
    this.item[g] = 0;
    this.inPass[g] = 0;
    this.computeStep(g);
  }

  planFinished(g: number): void {
    this.endTimes[g] = this.queue.now;
    this.acc.setClass(g, "idle");
    if (++this.finished === this.N) this.power.stop();
  }
}
