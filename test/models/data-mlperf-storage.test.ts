/**
 * MLPerf Storage v1.0 (Closed division; github.com/mlcommons/storage_results_v1.0, commit
 * 64c2ce4, results/<system>/.../mlperf_storage_report.json and the run's configs/config.yaml).
 * The benchmark emulates accelerators that each take a batch of `batch_size` samples of
 * `record_length` bytes per `computation_time` seconds of emulated compute, reading through a
 * prefetching loader; a system's score is the most accelerators it keeps above the
 * utilisation threshold (AU: 90 % for unet3d and resnet50, 70 % for cosmoflow), and the read
 * bandwidth it delivered doing so ("MB/s" in the report are MiB/s: unet3d delivers 139.81 "MB"
 * per 146,600,628-byte sample).
 *
 * Here the storage tier is given the bandwidth each submission delivered and the model finds
 * the most emulated accelerators (one loader each, prefetch 2) whose utilisation
 * compute / (compute + data stall) stays at or above the threshold. What this checks: the
 * per-accelerator demand (batch × record bytes per emulated step), the prefetch overlap and
 * the threshold, on the loader's fluid solve. What it cannot check: the storage system's
 * own bandwidth, which is an input taken from the same submission (no independent datasheet
 * figure was found for these systems). The second block predicts out of sample: each
 * system's A100 row gives the bandwidth, its H100 row is the test.
 */
import { describe, expect, it } from "vitest";
import { dataStallSeconds, loaderThroughput } from "../../models/data/loader.ts";
import type { DataSpec } from "../../models/data/types.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

const MIB = 2 ** 20;
const UNET3D = { recordBytes: 146_600_628, batch: 7, au: 0.9 };
const RESNET50 = { recordBytes: 114_660.07, batch: 400, au: 0.9 };
const COSMOFLOW = { recordBytes: 2_828_486, batch: 1, au: 0.7 };

interface Submission {
  system: string;
  workload: { recordBytes: number; batch: number; au: number };
  gpu: "H100-SXM" | "A100-80GB";
  /** computation_time of the run's config.yaml, seconds per batch. */
  computeSeconds: number;
  accelerators: number;
  deliveredMiBps: number;
}

const SUBMISSIONS: Submission[] = [
  { system: "DDN AI400X2T_24x14TiB_nvme_8xNDR200_18clients unet3d-h100", workload: UNET3D, gpu: "H100-SXM", computeSeconds: 0.323, accelerators: 36, deliveredMiBps: 99_017.8 },
  { system: "DDN AI400X2T_24x14TiB_nvme_8xNDR200_18clients unet3d-a100", workload: UNET3D, gpu: "A100-80GB", computeSeconds: 0.636, accelerators: 72, deliveredMiBps: 99_711.8 },
  { system: "DDN AI400X2T_24x14TiB_nvme_8xNDR200_32clients resnet50-h100", workload: RESNET50, gpu: "H100-SXM", computeSeconds: 0.224, accelerators: 512, deliveredMiBps: 92_065.2 },
  { system: "DDN AI400X2T_24x14TiB_nvme_8xNDR200_16clients cosmoflow-h100", workload: COSMOFLOW, gpu: "H100-SXM", computeSeconds: 0.0035, accelerators: 64, deliveredMiBps: 33_867.9 },
  { system: "Hammerspace unet3d_5Client_A100", workload: UNET3D, gpu: "A100-80GB", computeSeconds: 0.636, accelerators: 35, deliveredMiBps: 49_145.5 },
  { system: "HPE Cray_ClusterStor_E1000_10xHDR200_1host unet3d_h100", workload: UNET3D, gpu: "H100-SXM", computeSeconds: 0.323, accelerators: 5, deliveredMiBps: 13_954.5 },
  { system: "Lightbits-6-IceLake-Clients-3-SappRapid-target unet3d_h100", workload: UNET3D, gpu: "H100-SXM", computeSeconds: 0.323, accelerators: 12, deliveredMiBps: 33_764.7 },
  { system: "IEI AS13000_..._AMDHost unet3d-h100 10hosts@13GPUs", workload: UNET3D, gpu: "H100-SXM", computeSeconds: 0.323, accelerators: 130, deliveredMiBps: 362_523.9 },
  { system: "Huawei OceanStor_A800_51_hosts unet3d-h100", workload: UNET3D, gpu: "H100-SXM", computeSeconds: 0.323, accelerators: 255, deliveredMiBps: 695_480.3 },
  { system: "Micron_9550_Gen5_Performance_NVMe resnet50-a100", workload: RESNET50, gpu: "A100-80GB", computeSeconds: 0.435, accelerators: 115, deliveredMiBps: 10_445.6 },
];

function utilisation(sub: Submission, accelerators: number): number {
  const s = scenario({ gpu: sub.gpu, nodes: accelerators, gpusPerNode: 1, model: TINY_MODEL, seqLength: 1, globalBatch: accelerators * sub.workload.batch });
  const d: DataSpec = {
    storage: { name: sub.system, readBandwidth: sub.deliveredMiBps * MIB, requestLatency: 0, source: "MLPerf Storage v1.0" },
    kind: "image",
    bytesPerSample: sub.workload.recordBytes,
    deviceBytesPerSample: 0,
    decodeCoreSeconds: 0,
    workers: 4,
    prefetch: 2,
    readSize: sub.workload.recordBytes,
    readsInFlight: 1,
    nodeStorageBandwidth: Infinity,
    cacheHitRate: 0,
    sharedWithCheckpoints: false,
    loaders: "every-gpu",
  };
  const loader = loaderThroughput(s, d);
  const stall = dataStallSeconds(sub.computeSeconds, loader.secondsPerStep, d);
  return sub.computeSeconds / (sub.computeSeconds + stall);
}

/** The most accelerators kept at or above the threshold (utilisation falls as they are added). */
function maxAccelerators(sub: Submission): number {
  let lo = 1;
  let hi = 2;
  while (utilisation(sub, hi) >= sub.workload.au) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (utilisation(sub, mid) >= sub.workload.au) lo = mid;
    else hi = mid;
  }
  return lo;
}

describe("MLPerf Storage v1.0: accelerators a system keeps above the utilisation threshold", () => {
  for (const sub of SUBMISSIONS) {
    it(`${sub.system}: ${sub.accelerators} accelerators within 15 %`, () => {
      const predicted = maxAccelerators(sub);
      // By hand: the most N with N · batch · record / B ≤ compute / AU.
      expect(predicted).toBe(Math.floor((sub.deliveredMiBps * MIB * sub.computeSeconds) / (sub.workload.au * sub.workload.batch * sub.workload.recordBytes) + 1e-9));
      expect(Math.abs(predicted - sub.accelerators) / sub.accelerators).toBeLessThanOrEqual(0.15);
    });
  }
});

/**
 * Out of sample: the tier's bandwidth taken from a system's unet3d-A100 submission predicts the
 * same system's unet3d-H100 submission (same hosts and clients, an emulated accelerator asking
 * twice the bytes per second). Every Closed v1.0 system with both rows on the same
 * configuration is listed (none left out); the "delivered" figures are
 * overall.train_throughput_mean_MB_per_second of each row's mlperf_storage_report.json.
 */
const CROSS: { system: string; a100MiBps: number; h100Accelerators: number }[] = [
  { system: "DDN/AI400X2T_24x14TiB_nvme_8xNDR200_18clients", a100MiBps: 99_711.8, h100Accelerators: 36 },
  { system: "HPE/Cray_ClusterStor_E1000_10xHDR200_1host", a100MiBps: 12_840.8, h100Accelerators: 5 },
  { system: "Hammerspace/Hammerspace_unet3d_1Client", a100MiBps: 10_346.7, h100Accelerators: 2 },
  { system: "Hammerspace/Hammerspace_unet3d_5Client", a100MiBps: 49_145.5, h100Accelerators: 10 },
  { system: "IEI/AS13000_..._AMDHost 1host (31 A100, 16 H100)", a100MiBps: 42_544.5, h100Accelerators: 16 },
  { system: "IEI/AS13000_..._IntelHost 1host (48 A100, 26 H100)", a100MiBps: 67_585.0, h100Accelerators: 26 },
  { system: "Lightbits_Labs/Lightbits-6-IceLake-Clients-3-SappRapid-target", a100MiBps: 31_432.4, h100Accelerators: 12 },
  { system: "MangoBoost/1-client-amd-nvme-tcp-dpu", a100MiBps: 29_140.0, h100Accelerators: 10 },
  { system: "MangoBoost/1-client-intel-nvme-tcp-dpu", a100MiBps: 29_067.9, h100Accelerators: 10 },
  { system: "MangoBoost/1-client-intel-nvme-tcp-sw", a100MiBps: 20_965.2, h100Accelerators: 5 },
  { system: "Micron/Micron_6500_Gen4_High_Capacity_NVMe", a100MiBps: 4_472.6, h100Accelerators: 1 },
  { system: "Micron/Micron_9400_Gen4_Performance_NVMe", a100MiBps: 5_691.4, h100Accelerators: 2 },
  { system: "Micron/Micron_9550_Gen5_Performance_NVMe", a100MiBps: 9_257.9, h100Accelerators: 4 },
  { system: "Nutanix/Nutanix-Unified-Storage-4-Nodes-1-Host", a100MiBps: 11_461.5, h100Accelerators: 4 },
  { system: "Nutanix/Nutanix-Unified-Storage-7-Nodes-10-Hosts", a100MiBps: 54_785.8, h100Accelerators: 20 },
  { system: "WEKA/weka-1-client-dual-socket-56-cores", a100MiBps: 31_124.6, h100Accelerators: 13 },
];

describe("MLPerf Storage v1.0 out of sample: a system's A100 row predicts its H100 row", () => {
  const predictions = CROSS.map((c) => {
    const sub: Submission = { system: c.system, workload: UNET3D, gpu: "H100-SXM", computeSeconds: 0.323, accelerators: c.h100Accelerators, deliveredMiBps: c.a100MiBps };
    return { ...c, predicted: maxAccelerators(sub) };
  });

  it("each prediction is the hand-computed floor(B · 0.323 s / (0.9 · 7 · record))", () => {
    for (const p of predictions) expect(p.predicted).toBe(Math.floor((p.a100MiBps * MIB * 0.323) / (0.9 * 7 * UNET3D.recordBytes) + 1e-9));
    // DDN by hand: 99,711.8 MiB/s · 0.323 s / (0.9 · 7 · 146,600,628 B) = 36.57: 36, as published.
    expect(predictions[0]?.predicted).toBe(36);
  });

  it("10 of the 16 systems within 15 %, median 7.0 %", () => {
    // Hand-computed predictions in CROSS order (published: 36 5 2 10 16 26 12 10 10 5 1 2 4 4 20 13).
    expect(predictions.map((p) => p.predicted)).toEqual([36, 4, 3, 18, 15, 24, 11, 10, 10, 7, 1, 2, 3, 4, 20, 11]);
    const errors = predictions.map((p) => Math.abs(p.predicted - p.h100Accelerators) / p.h100Accelerators);
    expect(errors.filter((e) => e <= 0.15).length).toBe(10);
    const sorted = [...errors].sort((a, b) => a - b);
    expect(((sorted[7] as number) + (sorted[8] as number)) / 2).toBeCloseTo((1 / 16 + 2 / 26) / 2, 12);
    // The misses deliver different bandwidth to H100 emulation than to A100 on the same hosts
    // (Hammerspace 5 clients: 49,146 MiB/s for A100, 28,826 for H100): client-side limits that
    // one aggregate bandwidth per tier does not capture (docs/data.md).
  });
});

