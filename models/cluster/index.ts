/**
 * Many jobs on one cluster: schedulers (fifo, EASY backfill, priority with
 * preemption), placement (packed, spread, topology-aware), jobs slowing each
 * other through shared switch links, and the facility power they draw
 * together (with optional power-aware admission). See README.md.
 */
export { runClusterExperiment, simulateCluster, type ClusterRunOptions } from "./simulate.ts";
export { ContentionModel, probeRequests, PROBE_BYTES, type JobTraffic, type TrafficShape } from "./contention.ts";
export { Allocation, placementGeometry, type PlacementGeometry } from "./placement.ts";
export { controlFacility, facilityWatts, jobUnderLimit, nodeOverheadWatts, unmodelledGpuWatts, UNMODELLED_TDP_SHARE } from "./power.ts";
export { prepareJob, StepCache } from "./prepare.ts";
export { drawDuration, syntheticJobs } from "./synthetic.ts";
export * from "./types.ts";
