/**
 * The kernels of one transformer layer (forward and backward, one micro-batch,
 * one GPU) with their FLOPs, bytes and time alone: what a roofline chart plots.
 */
import { kernelCost, peakFlops } from "../compute/kernel.ts";
import type { Scenario } from "../scenario.ts";
import { layerBackwardKernels, layerForwardKernels } from "./layer-kernels.ts";
import { layerShape } from "./memory.ts";

export interface KernelPoint {
  name: string;
  direction: "forward" | "backward";
  kind: "gemm" | "attention" | "memory";
  flops: number;
  bytes: number;
  /** FLOP per byte of HBM traffic. */
  intensity: number;
  /** Achieved FLOP/s alone on the GPU. */
  flopsPerSecond: number;
  seconds: number;
  bound: "sm" | "hbm";
}

export interface RooflineData {
  gpu: string;
  peakFlopsPerSecond: number;
  hbmBytesPerSecond: number;
  kernels: KernelPoint[];
}

export function rooflineData(s: Scenario): RooflineData {
  const gpu = s.cluster.gpu;
  const x = layerShape(s);
  const kernels: KernelPoint[] = [];
  for (const [direction, list] of [
    ["forward", layerForwardKernels(x)],
    ["backward", layerBackwardKernels(x)],
  ] as const) {
    for (const k of list.kernels) {
      const c = kernelCost(k, gpu, s.workload.precision);
      kernels.push({
        name: k.name,
        direction,
        kind: k.kind,
        flops: k.flops,
        bytes: k.bytes,
        intensity: k.bytes > 0 ? k.flops / k.bytes : Infinity,
        flopsPerSecond: c.seconds > 0 ? k.flops / c.seconds : 0,
        seconds: c.seconds,
        bound: c.bound,
      });
    }
  }
  return { gpu: gpu.name, peakFlopsPerSecond: peakFlops(gpu, s.workload.precision), hbmBytesPerSecond: gpu.hbmBandwidth, kernels };
}
