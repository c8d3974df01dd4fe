/**
 * Storage tiers with published read figures. MLPerf Storage v1.0 (Closed division,
 * github.com/mlcommons/storage_results_v1.0, September 2024) reports the read bandwidth a
 * system delivered to emulated accelerators that it kept above the utilisation threshold:
 * a measured sustained read rate of the whole system, which is what `readBandwidth` means
 * here. Its "MB/s" are MiB/s (unet3d: 139.81 "MB" per 146,600,628-byte sample).
 * A figure a source does not give is left out (unlimited), never guessed.
 */
import type { StorageTier } from "./types.ts";

const MIB = 2 ** 20;

export const STORAGE_PRESETS: Readonly<Record<string, StorageTier>> = {
  "ddn-ai400x2t": {
    name: "ddn-ai400x2t",
    readBandwidth: 99_711.8 * MIB,
    requestLatency: 0,
    source:
      "MLPerf Storage v1.0 Closed, DDN AI400X2T (24 × 14 TiB NVMe, 8 × NDR200), 18 clients, unet3d-a100: 99,711.8 MiB/s to 72 accelerators (results/AI400X2T_24x14TiB_nvme_8xNDR200_18clients/unet3d-a100, mlperf_storage_report.json)",
  },
  "huawei-oceanstor-a800": {
    name: "huawei-oceanstor-a800",
    readBandwidth: 695_480.3 * MIB,
    requestLatency: 0,
    source: "MLPerf Storage v1.0 Closed, Huawei OceanStor A800, 51 hosts, unet3d-h100: 695,480.3 MiB/s to 255 accelerators (results/OceanStor_A800_51_hosts, mlperf_storage_report.json)",
  },
  "iei-as13000": {
    name: "iei-as13000",
    readBandwidth: 362_523.9 * MIB,
    requestLatency: 0,
    source:
      "MLPerf Storage v1.0 Closed, IEI AS13000 (3 storage nodes, 16 × 7.68 TiB NVMe, 4 × NDR400), 10 hosts, unet3d-h100: 362,523.9 MiB/s to 130 accelerators (results/AS13000_..._AMDHost/unet3d-h100/10hosts@13GPUs)",
  },
  "micron-9550-nvme": {
    name: "micron-9550-nvme",
    readBandwidth: 9_943.6 * MIB,
    clientBandwidth: 9_943.6 * MIB,
    requestLatency: 0,
    source: "MLPerf Storage v1.0 Closed, Micron 9550 Gen5 NVMe, one host, unet3d-h100: 9,943.6 MiB/s to 4 accelerators (results/Micron_9550_Gen5_Performance_NVMe/unet3d/h100): a node-local NVMe tier",
  },
  "s3-express-one-zone": {
    name: "s3-express-one-zone",
    requestsPerSecond: 200_000,
    requestLatency: 0.01,
    source:
      "Amazon S3 User Guide, 'Optimizing S3 Express One Zone performance': each directory bucket supports up to 200,000 reads per second by default; 'consistent single-digit millisecond first-byte read' latency (10 ms taken as its bound); aggregate bandwidth not stated (left unlimited)",
  },
};

export const STORAGE_PRESET_NAMES = Object.keys(STORAGE_PRESETS);
