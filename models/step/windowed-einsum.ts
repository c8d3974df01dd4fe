/**
 * The step's side of XLA's windowed einsum (workload/xla-collective-matmul.ts): given the dot's
 * and the plain collective's times, apply XLA's cost check; where the loop pays, its one-way
 * permutes carry the collective's link work `slowdown` times over.
 */
import { windowedEinsumPays } from "../workload/xla-collective-matmul.ts";
import { HBM, type Op } from "./ops.ts";

/** The windowed loop's communication seconds (op's link work scaled), or -1 where XLA keeps the plain collective. */
export function windowedComm(op: Op, dotSeconds: number, collectiveSeconds: number, steps: number, slowdown: number | undefined): number {
  if (slowdown === undefined) return collectiveSeconds;
  if (!windowedEinsumPays(dotSeconds, collectiveSeconds, slowdown, steps)) return -1;
  op.amounts = op.amounts.map((a, i) => (op.roles[i] === HBM ? a : a * slowdown));
  return collectiveSeconds * slowdown;
}
