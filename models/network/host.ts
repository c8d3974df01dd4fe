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

/**
 * Host ↔ device copies (ZeRO-Offload / ZeRO-3 offload, activation offload) reach this share
 * of the x16 link per direction: nvbandwidth v0.8 host_to_device_memcpy_sm on an
 * A100-SXM4-40GB measured 25.13 GB/s of PCIe Gen4's 31.5 (NVIDIA/nvbandwidth issue #42,
 * CUDA 12.6, driver 560.35); device_to_host_memcpy_sm on H100 52.8 GB/s of Gen5's 63
 * (issue #24). 25.13 / 31.5 = 0.80 is taken for both directions and generations.
 */
export const PCIE_COPY_FRACTION = 0.8;

/**
 * Pinned host ↔ device copy bandwidth of one GPU, per direction, bytes/s: the catalog's measured
 * figure where the host link is not PCIe (GB200/GB300: NVLink-C2C to Grace), else the PCIe link's.
 */
export function hostCopyBandwidth(gpu: Accelerator): number {
  return gpu.hostCopyBandwidth ?? pcieBandwidth(gpu) * PCIE_COPY_FRACTION;
}

/**
 * DeepSpeed's CPU-Adam (the optimizer of ZeRO-Offload) on one host, parameters per second:
 * an 11.6B-parameter GPT-2's optimizer step took 8.2 s with CPU-Adam (56 s with torch.optim.Adam),
 * DeepSpeed PR #735 (R. Yazdani, 2021-02-08, AVX-512 build). Cross-check: DeepSpeed issue #6834
 * (DeepSpeed 0.14.5, 4 nodes of 8 A100, Qwen-72B, ZeRO-3 with optimizer offload) shows a ~10 s
 * step for 72B / 4 hosts = 18B parameters per host, 1.8e9/s. Adam streams fp32 master weights,
 * gradients, m and v through host memory, so a host's ranks share the rate: each rank's
 * shard takes shard × ranksPerHost / rate.
 */
export const CPU_ADAM_PARAMS_PER_SECOND = 11.6e9 / 8.2;
