/**
 * Host side of scale-out traffic: GPU ↔ NIC over PCIe, NIC ↔ leaf switch.
 * PCIe bandwidth by generation (x16, per direction, after 128b/130b encoding):
 * Gen4 31.5 GB/s, Gen5 63 GB/s (PCI-SIG base specifications 4.0 and 5.0:
 * 16 GT/s and 32 GT/s per lane). GPUDirect RDMA moves data GPU → PCIe switch → NIC
 * without host memory.
 */
import type { Accelerator } from "../hardware/types.ts";
import type { LinkGraph } from "./graph.ts";

export const PCIE_GEN4_X16 = 31.5e9;
export const PCIE_GEN5_X16 = 63e9;
/** NIC + PCIe traversal latency, seconds. */
export const HOST_LINK_LATENCY = 1e-6;

/** A100 and TPU hosts use PCIe Gen4; Hopper, Blackwell, MI300 and Gaudi 3 platforms Gen5. */
export function pcieBandwidth(gpu: Accelerator): number {
  return gpu.name.startsWith("A100") ? PCIE_GEN4_X16 : PCIE_GEN5_X16;
}

export interface HostLinks {
  pcieUp: Int32Array;
  pcieDown: Int32Array;
  nicUp: Int32Array;
  nicDown: Int32Array;
}

export function hostLinks(graph: LinkGraph, gpus: number, pcie: number, nic: number): HostLinks {
  const h: HostLinks = { pcieUp: new Int32Array(gpus), pcieDown: new Int32Array(gpus), nicUp: new Int32Array(gpus), nicDown: new Int32Array(gpus) };
  for (let g = 0; g < gpus; g++) {
    h.pcieUp[g] = graph.add(`gpu${g}→nic${g}`, "pcie", pcie, HOST_LINK_LATENCY);
    h.pcieDown[g] = graph.add(`nic${g}→gpu${g}`, "pcie", pcie, HOST_LINK_LATENCY);
    h.nicUp[g] = graph.add(`nic${g}→leaf`, "nic", nic, HOST_LINK_LATENCY);
    h.nicDown[g] = graph.add(`leaf→nic${g}`, "nic", nic, HOST_LINK_LATENCY);
  }
  return h;
}
