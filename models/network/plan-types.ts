/** A collective request and the flows it is laid out as (shared by collectives.ts and torus-collectives.ts). */
import type { CollectiveOp } from "../collectives/alpha-beta.ts";

export type Algorithm = "ring" | "tree" | "nvls" | "direct" | "hierarchical" | "auto";

export interface CollectiveRequest {
  op: CollectiveOp;
  /** GPU ids of the group, in rank order. */
  ranks: readonly number[];
  /** nccl-tests "size": the buffer each rank contributes (all-reduce) or the full gathered buffer. */
  bytes: number;
  algorithm?: Algorithm;
  /** Seeds the ECMP choice of this collective's flows. */
  salt?: number;
}

export interface Flow {
  src: number;
  /** -1 for a flow that ends in the switch (NVLS). */
  dst: number;
  bytes: number;
  links: number[];
}

export interface CollectivePlan {
  algorithm: Exclude<Algorithm, "auto">;
  flows: Flow[];
  latencySeconds: number;
  /** A phase that starts when this one's flows are done (hierarchical algorithms). */
  then?: CollectivePlan;
  /** Bytes each rank moves through the network per nccl-tests' bus-bandwidth convention. */
  busBytes: number;
}
