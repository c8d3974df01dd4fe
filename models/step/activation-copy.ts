/**
 * Saved activations copied to or from host memory on a side stream while a pass computes.
 *
 * Megatron-Core's fine-grained activation offloading issues each group's device → host copy on
 * its own d2h stream as soon as the group's forward is done and the compute stream does not wait
 * for it; the backward reloads a group on an h2d stream one layer ahead and waits only before
 * that group's backward (docs/user-guide/features/fine_grained_activation_offloading.md 'How It
 * Works', megatron/core/pipeline_parallel/fine_grained_activation_offload.py, Megatron-LM
 * d98e8a6). The copy therefore overlaps the whole pass, not only its GEMMs: its bytes ride on
 * every work op of the pass in proportion to that op's time alone, so the copy runs at one pace
 * across the pass and the pass lasts at least the copy (the fluid model's "overlapped, the slower
 * one sets the pace", op by op).
 */
import { ROLES, setWork, WORK, type Op } from "./ops.ts";

/** Seconds `op` takes alone on resources of `capacity` (per role): its slowest role. */
export function aloneSeconds(op: Op, capacity: readonly number[]): number {
  let t = 0;
  for (let i = 0; i < op.roles.length; i++) t = Math.max(t, (op.amounts[i] as number) / (capacity[(op.roles[i] as number) % ROLES] as number));
  return t;
}

/**
 * Adds `bytes` of `role` (a host-copy direction) to the work ops of `ops`, each its share by
 * time alone (all on the first if none takes time). False if `ops` has no work op.
 */
export function spreadCopy(ops: readonly Op[], role: number, bytes: number, capacity: readonly number[]): boolean {
  const work = ops.filter((o) => o.kind === WORK);
  if (work.length === 0) return false;
  const secs = work.map((o) => aloneSeconds(o, capacity));
  const total = secs.reduce((a, b) => a + b, 0);
  work.forEach((op, i) => {
    const share = total > 0 ? (secs[i] as number) / total : i === 0 ? 1 : 0;
    if (share > 0) setWork(op, [...op.roles, role], [...op.amounts, bytes * share], op.size === op.size ? op.size : undefined);
  });
  return true;
}
