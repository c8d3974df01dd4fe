/** Pipeline sends as ops (program.ts compiles them; the executor runs them). */
import { collectiveLoad, linkWork } from "../collectives/alpha-beta.ts";
import type { Accelerator } from "../hardware/types.ts";
import type { GroupSlowdowns } from "../network/group-slowdown.ts";
import type { RankLayout } from "../parallel/layout.ts";
import type { ParallelPlan } from "../scenario.ts";
import { CATEGORY_INDEX } from "../categories.ts";
import { HBM, NIC_RX, NIC_TX, NV_RX, NV_TX, Op, ROLES, setWork } from "./ops.ts";

/** A send as one op over two GPUs: the sender's roles, and the receiver's as role + ROLES. */
export function sendOp(p: ParallelPlan, gpu: Accelerator, layout: RankLayout, slowdown: GroupSlowdowns, activationBytes: number, regather: boolean, sameNode: boolean, label: string): Op {
  const p2pBytes = activationBytes / p.tp;
  const load = collectiveLoad("send", p2pBytes, { size: 2, perNode: sameNode ? 2 : 1 }, gpu.scaleUpKind === "ici", gpu.efficiency.collectiveSizeCurves);
  const link = linkWork(load);
  const nic = link.nic * slowdown.pp;
  const nv = link.nvlink * slowdown.pp;
  const roles: number[] = [];
  const amounts: number[] = [];
  if (nic > 0) roles.push(NIC_TX, ROLES + NIC_RX), amounts.push(nic, nic);
  if (nv > 0) roles.push(NV_TX, ROLES + NV_RX), amounts.push(nv, nv);
  // Scatter/gather sends 1/tp of the tensor per rank, re-assembled over NVLink.
  if (regather) {
    const ag = linkWork(collectiveLoad("all-gather", activationBytes, layout.tp, gpu.scaleUpKind === "ici", gpu.efficiency.collectiveSizeCurves)).nvlink;
    roles.push(ROLES + NV_TX, ROLES + NV_RX), amounts.push(ag, ag);
  }
  const hbm = p2pBytes / gpu.efficiency.hbmPeakFraction;
  roles.push(HBM, ROLES + HBM), amounts.push(hbm, hbm);
  const op = new Op();
  op.label = label;
  op.power = "comm";
  setWork(op, roles, amounts, p2pBytes);
  op.latency = load.latencySeconds;
  op.latencyCategory = CATEGORY_INDEX[sameNode ? "nvlink" : "network"];
  return op;
}
