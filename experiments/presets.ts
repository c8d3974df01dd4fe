/**
 * Cluster presets: `cluster: {preset: dgx-h100-superpod, nodes: 128}` starts
 * from a known system and overrides what the file sets. Values in config units.
 */

export interface ClusterPreset {
  description: string;
  source: string;
  cluster: Record<string, unknown>;
}

export const CLUSTER_PRESETS: Readonly<Record<string, ClusterPreset>> = {
  "dgx-a100-superpod": {
    description: "NVIDIA DGX SuperPOD with DGX A100 80GB: 8 GPUs per node, 8 × 200 Gb/s HDR InfiniBand rail-optimized",
    source: "NVIDIA DGX SuperPOD reference architecture (DGX A100): one HDR HCA per GPU, rail-optimized fat-tree",
    cluster: { gpu: "A100-80GB", gpusPerNode: 8, network: { topology: "rail-optimized", nicBandwidth: "200 Gb/s", routing: "dmodk" } },
  },
  "dgx-h100-superpod": {
    description: "NVIDIA DGX SuperPOD with DGX H100: 8 GPUs per node, 8 × 400 Gb/s NDR InfiniBand rail-optimized, 32-node scalable units",
    source: "NVIDIA DGX SuperPOD reference architecture (DGX H100): ConnectX-7 400 Gb/s per GPU, rail-optimized, 32 DGX per SU",
    cluster: { gpu: "H100-SXM", gpusPerNode: 8, network: { topology: "rail-optimized", nicBandwidth: "400 Gb/s", routing: "dmodk" } },
  },
  "dgx-b200-superpod": {
    description: "NVIDIA DGX B200: 8 GPUs per node, 8 × 400 Gb/s rail-optimized",
    source: "NVIDIA DGX B200 datasheet: 8 × ConnectX-7 400 Gb/s",
    cluster: { gpu: "B200", gpusPerNode: 8, network: { topology: "rail-optimized", nicBandwidth: "400 Gb/s", routing: "dmodk" } },
  },
  "gb200-nvl72": {
    description: "GB200 NVL72 racks: 72 GPUs in one NVLink domain (18 trays of 4), 400 Gb/s per GPU to a rail-optimized scale-out fabric",
    source: "NVIDIA GB200 NVL72 specifications: 72 Blackwell GPUs per NVLink domain, 4 per compute tray",
    cluster: { gpu: "GB200", gpusPerNode: 4, network: { topology: "nvl72", nicBandwidth: "400 Gb/s", routing: "dmodk" } },
  },
  "mi300x-roce": {
    description: "AMD MI300X platforms: 8 GPUs per node on xGMI, 8 × 400 Gb/s RoCE with ECMP",
    source: "AMD Instinct MI300X platform: 8 OAMs fully connected by Infinity Fabric; typical 400 GbE RoCE NIC per GPU",
    cluster: { gpu: "MI300X", gpusPerNode: 8, network: { topology: "rail-optimized", nicBandwidth: "400 Gb/s", routing: "ecmp", flowsPerConnection: 4 } },
  },
  "meta-h100-roce": {
    description: "Meta's Llama 3 training cluster: H100 on 400 Gb/s RoCE, ECMP with 16 flows per GPU pair",
    source: "Llama 3 Herd of Models (2024), Sec. 3.3.1",
    cluster: { gpu: "H100-SXM", gpusPerNode: 8, network: { topology: "rail-optimized", nicBandwidth: "400 Gb/s", routing: "ecmp", flowsPerConnection: 16 } },
  },
  "gb300-nvl72": {
    description: "GB300 NVL72 racks: 72 Blackwell Ultra GPUs in one NVLink domain (18 trays of 4), one ConnectX-8 800 Gb/s per GPU to a rail-optimized scale-out fabric",
    source: "NVIDIA GB300 NVL72 specifications: 72 Blackwell Ultra GPUs per NVLink domain, ConnectX-8 SuperNIC 800 Gb/s per GPU",
    cluster: { gpu: "GB300", gpusPerNode: 4, network: { topology: "nvl72", nicBandwidth: "800 Gb/s", routing: "dmodk" } },
  },
  "hgx-h800": {
    description: "HGX H800 nodes: 8 GPUs on NVSwitch with NVLink cut to 400 GB/s (200 per direction), 8 × 400 Gb/s InfiniBand rail-optimized",
    source: "NVIDIA H800 datasheet (NVLink 400 GB/s); HGX 8-GPU baseboard with one ConnectX-7 400 Gb/s per GPU as HGX H100",
    cluster: { gpu: "H800", gpusPerNode: 8, network: { topology: "rail-optimized", nicBandwidth: "400 Gb/s", routing: "dmodk" } },
  },
  "tpu-v4-pod": {
    description: "Google TPU v4: 4 chips per host, 4096-chip pods of 3D ICI torus (64 cubes of 4×4×4 on optical switches), pods joined by the data-centre network",
    source: "Jouppi et al., 'TPU v4', ISCA 2023; Google Cloud TPU v4 system architecture; DCN per chip from How to Scale Your Model (2.5e10 B/s per 4-chip host)",
    cluster: { gpu: "TPU-v4", gpusPerNode: 4, network: { topology: "torus", nicBandwidth: "50 Gb/s" } },
  },
  "tpu-v5p-pod": {
    description: "Google TPU v5p: 4 chips per host, a 3D torus over ICI (pods of up to 8960 chips), pods joined by the data-centre network",
    source: "Google Cloud TPU v5p system architecture (ICI 1200 GB/s bidirectional per chip, DCN 50 Gb/s per chip)",
    cluster: { gpu: "TPU-v5p", gpusPerNode: 4, network: { topology: "torus", nicBandwidth: "50 Gb/s" } },
  },
};

export const PRESET_NAMES: readonly string[] = Object.keys(CLUSTER_PRESETS);
