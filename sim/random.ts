/**
 * Named, seeded random streams. Each stream's state is derived from the run
 * seed and the stream's name only, so adding a stream (or drawing more from
 * one) never changes the numbers another stream produces.
 */
import seedrandom from "seedrandom";

export interface RandomStream {
  readonly name: string;
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number;
  /** Exponential with the given rate (events per unit). */
  exponential(rate: number): number;
  /** Weibull with shape k and scale λ. */
  weibull(shape: number, scale: number): number;
  /** Normal (Box–Muller). */
  normal(mean: number, sd: number): number;
}

export class RandomStreams {
  readonly seed: number | string;
  private readonly streams = new Map<string, RandomStream>();

  constructor(seed: number | string) {
    this.seed = seed;
  }

  stream(name: string): RandomStream {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = makeStream(name, `trainsim/${String(this.seed)}/${name}`);
      this.streams.set(name, s);
    }
    return s;
  }
}

function makeStream(name: string, key: string): RandomStream {
  const prng = seedrandom.alea(key);
  const uniform = (): number => prng();
  return {
    name,
    uniform,
    int(lo, hi) {
      return lo + Math.floor(uniform() * (hi - lo));
    },
    exponential(rate) {
      // 1 - u lies in (0, 1], so the log is finite.
      return -Math.log(1 - uniform()) / rate;
    },
    weibull(shape, scale) {
      return scale * Math.pow(-Math.log(1 - uniform()), 1 / shape);
    },
    normal(mean, sd) {
      const u1 = 1 - uniform();
      const u2 = uniform();
      return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    },
  };
}

/** FNV-1a 32-bit hash of a string: stable across machines, for seeded ECMP-style choices. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
