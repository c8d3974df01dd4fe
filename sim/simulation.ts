/**
 * One simulated world: a clock and event queue, the fluid resource model on it,
 * named random streams from one seed, and an optional recorder. Knows nothing
 * about GPUs.
 */
import { EventQueue, type EventHandle, type EventHandler } from "./event-queue.ts";
import { FluidModel } from "./fluid.ts";
import { RandomStreams, type RandomStream } from "./random.ts";
import { Recorder } from "./recorder.ts";

export interface SimulationOptions {
  seed?: number | string;
  record?: boolean;
  /** Only these recorder tracks are kept (all when omitted). */
  recordTracks?: Iterable<string>;
}

export class Simulation {
  readonly queue = new EventQueue();
  readonly fluid: FluidModel;
  readonly random: RandomStreams;
  readonly recorder: Recorder;

  constructor(options: SimulationOptions = {}) {
    this.fluid = new FluidModel(this.queue);
    this.random = new RandomStreams(options.seed ?? 1);
    this.recorder = new Recorder(
      options.recordTracks === undefined
        ? { enabled: options.record ?? false }
        : { enabled: options.record ?? false, tracks: options.recordTracks },
    );
  }

  get now(): number {
    return this.queue.now;
  }

  rng(name: string): RandomStream {
    return this.random.stream(name);
  }

  at(time: number, handler: EventHandler): EventHandle {
    return this.queue.schedule(time, handler);
  }

  after(delay: number, handler: EventHandler): EventHandle {
    return this.queue.scheduleIn(delay, handler);
  }

  run(until?: number): void {
    this.queue.run(until);
  }
}
