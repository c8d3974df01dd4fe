export { EventQueue, type EventHandle, type EventHandler } from "./event-queue.ts";
export {
  FluidModel,
  Resource,
  Activity,
  type ActivitySpec,
  type ResourceSpec,
  type ActivityState,
  type SegmentListener,
} from "./fluid.ts";
export { RandomStreams, hash32, type RandomStream } from "./random.ts";
export { Recorder, type Span, type CounterSample } from "./recorder.ts";
export { Simulation, type SimulationOptions } from "./simulation.ts";
