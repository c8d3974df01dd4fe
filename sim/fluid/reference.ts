/**
 * The fluid model's rates on plain objects: a reference to read and to test against.
 *
 * It computes what FluidModel computes, without arenas, components, heaps or
 * read-ahead: every change re-solves everything from scratch, in O(n²). Read it
 * top to bottom to learn the model; test/sim/fluid-reference.test.ts checks on
 * random instances that FluidModel gives the same rates, bottlenecks and end times.
 *
 * The model. An activity has work (per copy) on each resource it touches and stands
 * for `multiplicity` identical copies; a resource has a capacity per instance and
 * stands for `multiplicity` identical instances, each of which sees m_a / M_r of the
 * activity's copies. An activity progresses at rate x (fraction per second), so on
 * every resource r:
 *
 *     Σ_a  x_a · work(a, r) · m_a / M_r  ≤  capacity(r)
 *
 * Rates are the weighted max-min fair allocation found by progressive filling: a
 * level λ rises from 0; every activity not yet frozen runs at x_a = weight_a · λ /
 * size_a (size: the unit in which fairness is measured, by default the activity's
 * largest work amount). When a resource saturates, the activities on it freeze at
 * the current λ, and that resource is their bottleneck. An activity whose maxRate is
 * reached freezes there with no bottleneck, as does one left with no finite limit
 * (it then runs at an infinite rate and finishes at once).
 */

export interface RefResource {
  name: string;
  /** Work units per second of one instance (may be Infinity). */
  capacity: number;
  multiplicity: number;
}

export interface RefActivitySpec {
  label: string;
  /** Work per copy on each resource; a resource named twice has the sum, zeros are dropped. */
  work: ReadonlyArray<readonly [RefResource, number]>;
  weight?: number;
  multiplicity?: number;
  size?: number;
  maxRate?: number;
  onComplete?: (a: RefActivity) => void;
}

export interface RefActivity {
  label: string;
  work: Map<RefResource, number>;
  weight: number;
  multiplicity: number;
  size: number;
  maxRate: number;
  /** Fraction left, 1 → 0. */
  remaining: number;
  /** Fraction per second, from the last solve. */
  rate: number;
  /** The resource that froze it in the last solve; null: its maxRate, or no finite limit. */
  bottleneck: RefResource | null;
  state: "running" | "done" | "cancelled";
  startTime: number;
  endTime: number;
  onComplete: ((a: RefActivity) => void) | undefined;
}

/** Finishing within this relative time of the first, an activity finishes with it (float noise). */
const DUE_TOLERANCE = 1e-9;

export class ReferenceModel {
  now = 0;
  readonly resources: RefResource[] = [];
  /** Running activities, in the order they started. */
  running: RefActivity[] = [];

  addResource(name: string, capacity: number, multiplicity = 1): RefResource {
    const r = { name, capacity, multiplicity };
    this.resources.push(r);
    return r;
  }

  start(spec: RefActivitySpec): RefActivity {
    const work = new Map<RefResource, number>();
    for (const [r, amount] of spec.work) if (amount > 0) work.set(r, (work.get(r) ?? 0) + amount);
    const largest = Math.max(0, ...work.values());
    const a: RefActivity = {
      label: spec.label,
      work,
      weight: spec.weight ?? 1,
      multiplicity: spec.multiplicity ?? 1,
      size: spec.size ?? (largest > 0 ? largest : 1),
      maxRate: spec.maxRate ?? Infinity,
      remaining: 1,
      rate: 0,
      bottleneck: null,
      state: "running",
      startTime: this.now,
      endTime: NaN,
      onComplete: spec.onComplete,
    };
    this.running.push(a);
    this.solve();
    return a;
  }

  cancel(a: RefActivity): void {
    if (a.state !== "running") return;
    this.end(a, "cancelled");
    this.solve();
  }

  setCapacity(r: RefResource, capacity: number): void {
    r.capacity = capacity;
    this.solve();
  }

  /** Demand of activity a on resource r per unit of level: x_a · work · m_a / M_r at λ = 1. */
  private load(a: RefActivity, r: RefResource): number {
    return ((a.multiplicity / r.multiplicity) * (a.work.get(r) as number) * a.weight) / a.size;
  }

  /** Progressive filling over all running activities: sets every rate and bottleneck. */
  solve(): void {
    const free = new Map<RefResource, number>();
    for (const r of this.resources) free.set(r, r.capacity);
    const unfrozen = new Set(this.running);
    let level = 0;
    const freeze = (a: RefActivity, by: RefResource | null): void => {
      a.rate = level === Infinity ? Infinity : (a.weight * level) / a.size;
      a.bottleneck = by;
      unfrozen.delete(a);
      if (level === Infinity) return;
      for (const r of a.work.keys()) free.set(r, (free.get(r) as number) - this.load(a, r) * level);
    };
    while (unfrozen.size > 0) {
      // The next limit the rising level meets: a resource saturating, or a maxRate.
      let next = Infinity;
      let saturated: RefResource | null = null;
      let capped: RefActivity | null = null;
      for (const r of this.resources) {
        if (r.capacity === Infinity) continue;
        let load = 0;
        for (const a of unfrozen) if (a.work.has(r)) load += this.load(a, r);
        if (load === 0) continue;
        const at = Math.max(level, Math.max(free.get(r) as number, 0) / load);
        if (at < next) [next, saturated, capped] = [at, r, null];
      }
      for (const a of unfrozen) {
        const at = (a.maxRate * a.size) / a.weight;
        if (at < next) [next, saturated, capped] = [at, null, a];
      }
      level = next;
      if (capped !== null) freeze(capped, null);
      else if (saturated !== null) {
        for (const a of [...unfrozen]) if (a.work.has(saturated)) freeze(a, saturated);
      } else {
        // No finite limit left: what is unfrozen runs at an infinite rate.
        for (const a of [...unfrozen]) freeze(a, null);
      }
    }
  }

  /** Seconds until `a` finishes at its current rate. */
  private wait(a: RefActivity): number {
    if (a.remaining <= 0 || a.rate === Infinity) return 0;
    return a.rate > 0 ? a.remaining / a.rate : Infinity;
  }

  /** Run completions up to `until` (inclusive), then set the clock there. */
  runUntil(until: number): void {
    for (;;) {
      let first = Infinity;
      for (const a of this.running) first = Math.min(first, this.wait(a));
      if (first === Infinity || this.now + first > until) break;
      const limit = first * (1 + DUE_TOLERANCE) + 1e-12;
      const due = this.running.filter((a) => this.wait(a) <= limit);
      this.advance(this.now + first);
      for (const a of due) this.end(a, "done");
      this.solve();
      for (const a of due) a.onComplete?.(a);
    }
    if (until !== Infinity && until > this.now) this.advance(until);
  }

  /** Move the clock to `t`, progressing every running activity at its rate. */
  private advance(t: number): void {
    const dt = t - this.now;
    for (const a of this.running) {
      if (dt > 0 && a.rate > 0) a.remaining = Math.max(0, a.remaining - a.rate * dt);
    }
    this.now = t;
  }

  private end(a: RefActivity, state: "done" | "cancelled"): void {
    a.state = state;
    if (state === "done") a.remaining = 0;
    a.rate = 0;
    a.endTime = this.now;
    this.running = this.running.filter((b) => b !== a);
  }
}
