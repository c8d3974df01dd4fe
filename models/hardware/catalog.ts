/**
 * Accelerator catalog: datasheet figures in SI units (FLOP/s, bytes, bytes/s, W) plus one
 * measured efficiency calibration per part. Peak FLOP/s are DENSE (vendor "with sparsity"
 * figures halved). Every numeric field has a citation in `sources`; where no measurement is
 * published for a part, the value is derived from its closest sibling and the source says so.
 */
import type { Accelerator } from "./types.ts";

const GiB = 2 ** 30;

// Shared citations (each is a published measurement or document).
const MAMF =
  "stas00/ml-engineering, compute/accelerator/README.md, 'Maximum Achievable Matmul FLOPS comparison table' (BF16, mamf-finder v2: mean of 100 iters, best shape) https://github.com/stas00/ml-engineering/tree/master/compute/accelerator";
const AZURE = "Azure/AI-benchmarking-guide, Azure_Results/";
const MSMF =
  "stas00/ml-engineering, compute/accelerator/benchmarks/README.md, 'What we measured: alone vs all-8 concurrent' (mamf-finder.py --search auto, MSMF = Maximum Sustainable Matmul FLOPS: best shape after a thermal soak, power-saturated near TDP; 'All 8 GPUs x 5 rounds (n=40)' = every GPU of the node computing, as in training)";
const BABEL = "BabelStream (cuda-stream/hip-stream) Triad, divided by datasheet hbmBandwidth";
const CSCS_LAT =
  "CSCS ReFrame gpu_kernel_latency_check reference values (reframe-hpc/reframe, cscs-checks/microbenchmarks/gpu/kernel_latency/kernel_latency.py)";
const FA2_PAPER =
  "Dao, 'FlashAttention-2' (arXiv:2307.08691), forward pass reaches up to 73% of A100 theoretical peak (abstract, Sec. 4.1)";
const FA3_PAPER =
  "Shah et al., 'FlashAttention-3' (arXiv:2407.08608): FA2 reaches only ~35% utilisation on H100 (FA3 BF16 740 TFLOP/s = 75%)";
const FA4_PAPER =
  "Zadouri, Dao et al., 'FlashAttention-4' (2026): up to 1613 TFLOP/s BF16 fwd on B200 (71%), up to 1.3x over cuDNN 9.13";
const AZURE_FP8 =
  "Azure/AI-benchmarking-guide (commit 8fd0c6e, Sep 2024), Azure_Results/, 'GEMM CuBLASLt' table: FP8, random init, 10,000 warm-up iterations";
const FA3_FIG =
  "Shah et al., 'FlashAttention-3' (arXiv:2407.08608), H100 80GB SXM5 benchmark figures, values from the bar labels (software versions as the paper's Sec. 4 states them)";
const FA_BWD_RATIO =
  "backward/forward ratio of the same FA2 kernel on H100 at head dim 128, 16k (322 / 370 TFLOP/s = 0.87, FA3 paper Fig. 5a/6b; FA3 itself: 561 / 648 = 0.87)";
const FP8_ATTN_RATIO =
  "FP8/BF16 ratio of attention fractions on H100 (FA3 FP8 fwd 1008/1978.9 = 0.509 against FA3 BF16 fwd 648/989.4 = 0.655: 0.78)";
const FP8_GEMM_RATIO =
  "Hopper's FP8/BF16 GEMM-fraction ratio (H100: cuBLASLt FP8 8192^3 0.652 / BF16 0.803 = 0.812)";
const AMD_MAF =
  "AMD ROCm blog 'Measuring Max-Achievable FLOPs - Part 2' (Feb 2025), Table 1 and footnotes 2/4: hipblaslt-bench 4096x4864x32896 (FP8 4096x3648x32896), trig_float input, 1000 ms runs with ~25 % warm-up, median clock of the slowest XCD; ROCm 6.3.0, hipBLASLt db8e93b4fd6; 8-GPU platforms at their rated board power";
const CK_FA_MI300X =
  "ROCm/flash-attention issue #142 (May 2025): the repository's benchmark_flash_attention.py on MI300X, ROCm 6.3.2, CK backend, BF16, head dim 128, seq 16384, non-causal, batch 1/2/4/8: fwd 353.2 / 355.5 / 339.6 / 309.6, bwd 194.4 / 202.1 / 205.4 / 206.7 TFLOP/s";
const RCCL_MI300X_CH =
  "RCCL 2.21.5 (ROCm 6.3.0, HIP 6.3.42131) NCCL_DEBUG=INFO log of an 8-GPU single-node job on an Azure ROCm VM (8 GPUs, kernel 5.15.0-1086-azure, i.e. ND MI300X v5; LLaMA-Factory run, 2025-06-02): 'Channel 00/56' ... 'Channel 55/56', 14 distinct rings each 4x; RCCL launches one workgroup per channel, so 56 CUs of 304. Same figure in ROCm/rccl PR #2073 (Dec 2025, MI350 WarpSpeed): the 8-rank single-node default maps to 56 CUs";
const NV_A100_DS =
  "NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf), SXM column";
const NV_H100_WP =
  "NVIDIA H100 Tensor Core GPU Architecture whitepaper, Table 'H100 SXM5' (also H100 datasheet, SXM column; sparse figures halved)";
const NV_H200_DS = "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column https://www.nvidia.com/en-us/data-center/h200/";
const NV_BW_DS =
  "NVIDIA Blackwell datasheet per-GPU table (HGX B200 @1000 W column), as tabulated at https://glennklockwood.com/garden/processors/B200 (sparse figures halved)";
const NV_GB_DS =
  "NVIDIA Blackwell datasheet per-GPU table (GB200 @1200 W column) / GB200 NVL72 spec page https://www.nvidia.com/en-us/data-center/gb200-nvl72/ (rack figures /72, sparse halved)";
const AMD_MI300X_DS =
  "AMD Instinct MI300X data sheet (amd-instinct-mi300x-data-sheet.pdf) https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html";
const AMD_MI325X_DS =
  "AMD Instinct MI325X data sheet https://www.amd.com/en/products/accelerators/instinct/mi300/mi325x.html";
const TPU_V5P =
  "Google Cloud TPU v5p system architecture table https://cloud.google.com/tpu/docs/v5p";
const GAUDI3_HC =
  "Intel, 'Intel Gaudi 3 AI Accelerator: Architected for Gen AI Training and Inference' (Hot Chips 2024, R. Kaplan), spec table p.2/p.4; Intel Gaudi 3 white paper";
const THAMADA = "thamada/nvidia-smi (GitHub) captured idle nvidia-smi/rocm-smi output";
const IDLE_NOTE = "idle = board power with no process, persistence on, 0% util";
const NVLINK_SWITCH_DOMAIN = "HGX/DGX 8-GPU NVSwitch baseboard (one NVLink hop domain)";
const NCCL_CTA_SM =
  "NCCL runs one CTA per channel and a CTA holds an SM to itself ('NCCL CTAs won't share an SM with compute kernels': S. Jeaugey, NVIDIA/nccl#689, Aug 2023, because NCCL uses all of its registers) and NCCL launches 2 CTAs per NVLink to saturate large messages (AddyLaddy, NVIDIA/nccl#1703, May 2025)";
const NCCL_NET_CTAS =
  "Across nodes NCCL uses 2 channels (SMs) per NIC: 'If you have a PCI system with a single NIC ... it should just launch 2 SMs. If you are on DGX with 8 NICs and a top speed of 190 GB/s, then it would use 16 SMs' (S. Jeaugey, NVIDIA/nccl#689, 2022, DGX A100 8x HDR)";

export const CATALOG: Readonly<Record<string, Accelerator>> = {
  "A100-40GB": {
    name: "A100-40GB",
    vendor: "NVIDIA",
    peakFlops: { fp32: 19.5e12, tf32: 156e12, bf16: 312e12, fp16: 312e12 }, // no FP8 on Ampere
    hbmBytes: 40 * GiB,
    hbmBandwidth: 1555e9,
    scaleUpBandwidth: 300e9,
    scaleUpKind: "nvlink",
    scaleUpDomain: 8,
    nicBandwidth: 25e9,
    tdpWatts: 400,
    idleWatts: 52,
    smCount: 108,
    efficiency: {
      gemmPeakFraction: 0.813,
      hbmPeakFraction: 0.886,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.73,
      attentionBackwardPeakFraction: 0.635,
      commSmsScaleUp: 24,
      commSmsPerNic: 2,
    },
    sources: {
      "peakFlops.fp32": `${NV_A100_DS}: FP32 19.5 TFLOPS`,
      "peakFlops.tf32": `${NV_A100_DS}: TF32 156 TFLOPS dense (312 with sparsity)`,
      "peakFlops.bf16": `${NV_A100_DS}: BF16 312 TFLOPS dense (624 with sparsity)`,
      "peakFlops.fp16": `${NV_A100_DS}: FP16 312 TFLOPS dense (624 with sparsity)`,
      hbmBytes: `${NV_A100_DS}: 40GB HBM2 = 5 stacks x 8 GiB = 40 GiB; nvidia-smi reports 40960 MiB total`,
      hbmBandwidth: `${NV_A100_DS}: 1,555 GB/s (A100 40GB SXM)`,
      scaleUpBandwidth: `${NV_A100_DS}: NVLink3 600 GB/s total (12 links) = 300 GB/s per direction`,
      scaleUpDomain: `DGX A100 datasheet: 8x A100 on 6 NVSwitches; ${NVLINK_SWITCH_DOMAIN}`,
      nicBandwidth: "NVIDIA DGX A100 datasheet: 8x single-port ConnectX-6 VPI 200 Gb/s HDR InfiniBand (one per GPU) = 25e9 B/s",
      tdpWatts: `${NV_A100_DS}: max TDP 400 W (SXM)`,
      idleWatts: `Public nvidia-smi captures of A100-SXM4-40GB at 0 MiB used, P0: 45-55 W (median ~52 W); ${IDLE_NOTE}`,
      smCount: "NVIDIA Ampere GA100 architecture whitepaper: A100 has 108 SMs enabled",
      "efficiency.gemmPeakFraction": `Same GA100 SXM4 compute at 400 W as A100-80GB: ${AZURE}ND_A100_v4_results.md cuBLASLt FP16 8192^3 sustained 253.7 of 312 TFLOP/s = 0.813`,
      "efficiency.hbmPeakFraction": `${BABEL}: ALCF Polaris (A100-SXM4-40GB) BabelStream 5.0 Triad 1377.5 GB/s / 1555 GB/s (argonne-lcf/ALCFBeginnersGuide, polaris BabelStream example)`,
      "efficiency.kernelLaunchSeconds": `${CSCS_LAT}: 'ault:amda100' async launch latency 2.7 us (sync 9.65 us)`,
      "efficiency.attentionPeakFraction": `${FA2_PAPER}; FA2 was the standard 2023-24 A100 training kernel`,
      "efficiency.attentionBackwardPeakFraction": `Derived (no A100 backward table found as text): forward 0.73 x ${FA_BWD_RATIO} = 0.635, consistent with the FA2 paper's backward running below its forward`,
      "efficiency.fp8GemmPeakFraction": "Not applicable: Ampere has no FP8 tensor cores (no peakFlops.fp8; precision fp8 is refused)",
      "efficiency.commSmsScaleUp": `${NCCL_CTA_SM}. DGX A100 has 12 NVLinks per GPU -> 24 CTAs for all-reduce (NVIDIA/nccl#1225, 2024); HGX A100 8-GPU nccl-tests ring log shows 24 channels ('Channel 23/24', NVIDIA/nccl-tests#100)`,
      "efficiency.commSmsPerNic": `${NCCL_NET_CTAS}`,
    },
  },

  "A100-80GB": {
    name: "A100-80GB",
    vendor: "NVIDIA",
    peakFlops: { fp32: 19.5e12, tf32: 156e12, bf16: 312e12, fp16: 312e12 },
    hbmBytes: 80 * GiB,
    hbmBandwidth: 2039e9,
    scaleUpBandwidth: 300e9,
    scaleUpKind: "nvlink",
    scaleUpDomain: 8,
    nicBandwidth: 25e9,
    tdpWatts: 400,
    idleWatts: 59,
    smCount: 108,
    efficiency: {
      gemmPeakFraction: 0.813,
      hbmPeakFraction: 0.834,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.73,
      attentionBackwardPeakFraction: 0.635,
      commSmsScaleUp: 24,
      commSmsPerNic: 2,
    },
    sources: {
      "peakFlops.fp32": `${NV_A100_DS}: FP32 19.5 TFLOPS`,
      "peakFlops.tf32": `${NV_A100_DS}: TF32 156 TFLOPS dense (312 with sparsity)`,
      "peakFlops.bf16": `${NV_A100_DS}: BF16 312 TFLOPS dense (624 with sparsity)`,
      "peakFlops.fp16": `${NV_A100_DS}: FP16 312 TFLOPS dense (624 with sparsity)`,
      hbmBytes: `${NV_A100_DS}: '80GB' HBM2e = 5 stacks x 16 GiB = 80 GiB; nvidia-smi reports 81920 MiB total (thamada/nvidia-smi gls/A100SXMx4_smi.py)`,
      hbmBandwidth: `${NV_A100_DS}: 2,039 GB/s (A100 80GB SXM)`,
      scaleUpBandwidth: `${NV_A100_DS}: NVLink3 600 GB/s total = 300 GB/s per direction`,
      scaleUpDomain: `DGX A100 datasheet; ${NVLINK_SWITCH_DOMAIN}`,
      nicBandwidth: "NVIDIA DGX A100 datasheet: 8x ConnectX-6 200 Gb/s HDR InfiniBand, one per GPU = 25e9 B/s",
      tdpWatts: `${NV_A100_DS}: max TDP 400 W (SXM; some HGX boards ship a 500 W custom-thermal variant)`,
      idleWatts: `${THAMADA}, gls/A100SXMx4_smi.py: 4x A100-SXM4-80GB idle 58-60 W (59.77 W detailed); ${IDLE_NOTE}`,
      smCount: "NVIDIA Ampere GA100 architecture whitepaper: 108 SMs; deviceQuery multiProcessorCount 108",
      "efficiency.gemmPeakFraction": `${AZURE}ND_A100_v4_results.md: cuBLASLt FP16 8192x8192x8192, random init, 10,000 warm-up iterations (sustained clocks): 253.7 TFLOP/s of 312 = 0.813. (The best-over-shapes figure, ${MAMF}: 271.2, is an upper bound; the efficiency model is normalised at 8192^3.)`,
      "efficiency.hbmPeakFraction": `${BABEL}: ${AZURE}ND_A100_v4_results.md (A100-SXM4-80GB) Triad 1.70 TB/s / 2.039 TB/s`,
      "efficiency.kernelLaunchSeconds": `${CSCS_LAT}: 'ault:amda100' async launch latency 2.7 us`,
      "efficiency.attentionPeakFraction": `${FA2_PAPER}`,
      "efficiency.attentionBackwardPeakFraction": `Derived (no A100 backward table found as text): forward 0.73 x ${FA_BWD_RATIO} = 0.635, consistent with the FA2 paper's backward running below its forward`,
      "efficiency.commSmsScaleUp": `${NCCL_CTA_SM}. DGX A100 has 12 NVLinks per GPU -> 24 CTAs for all-reduce (NVIDIA/nccl#1225, 2024); HGX A100 8-GPU nccl-tests ring log shows 24 channels ('Channel 23/24', NVIDIA/nccl-tests#100)`,
      "efficiency.commSmsPerNic": `${NCCL_NET_CTAS}`,
      "efficiency.fp8GemmPeakFraction": "Not applicable: Ampere has no FP8 tensor cores (no peakFlops.fp8; precision fp8 is refused)",
    },
  },

  "H100-SXM": {
    name: "H100-SXM",
    vendor: "NVIDIA",
    peakFlops: { fp32: 66.9e12, tf32: 494.7e12, bf16: 989.4e12, fp16: 989.4e12, fp8: 1978.9e12 },
    hbmBytes: 80 * GiB,
    hbmBandwidth: 3.35e12,
    scaleUpBandwidth: 450e9,
    scaleUpKind: "nvlink",
    scaleUpDomain: 8,
    nicBandwidth: 50e9,
    tdpWatts: 700,
    idleWatts: 85,
    smCount: 132,
    efficiency: {
      gemmPeakFraction: 0.803,
      hbmPeakFraction: 0.887,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.35,
      attentionBackwardPeakFraction: 0.325,
      fp8GemmPeakFraction: 0.652,
      fp8RowwiseGemmRelative: 0.95,
      fp8AttentionPeakFraction: 0.509,
      commSmsScaleUp: 24,
      commSmsPerNic: 2,
    },
    sources: {
      "peakFlops.fp32": `${NV_H100_WP}: FP32 66.9 TFLOPS`,
      "peakFlops.tf32": `${NV_H100_WP}: TF32 494.7 TFLOPS dense (989.4 with sparsity)`,
      "peakFlops.bf16": `${NV_H100_WP}: BF16 989.4 TFLOPS dense (datasheet 1,979 with sparsity)`,
      "peakFlops.fp16": `${NV_H100_WP}: FP16 989.4 TFLOPS dense (datasheet 1,979 with sparsity)`,
      "peakFlops.fp8": `${NV_H100_WP}: FP8 1978.9 TFLOPS dense (datasheet 3,958 with sparsity)`,
      hbmBytes: "NVIDIA H100 datasheet: '80GB' HBM3 = 5 stacks x 16 GiB = 80 GiB (nvidia-smi shows 81559 MiB after reserved/ECC)",
      hbmBandwidth: "NVIDIA H100 datasheet, SXM column: GPU memory bandwidth 3.35 TB/s",
      scaleUpBandwidth: "NVIDIA H100 datasheet: NVLink4 900 GB/s (18 links) bidirectional = 450 GB/s per direction",
      scaleUpDomain: `DGX H100 datasheet; ${NVLINK_SWITCH_DOMAIN}`,
      nicBandwidth: "NVIDIA DGX H100 datasheet: 8x ConnectX-7 400 Gb/s NDR InfiniBand (one per GPU) = 50e9 B/s",
      tdpWatts: "NVIDIA H100 datasheet, SXM: max TDP up to 700 W (configurable)",
      idleWatts: `${THAMADA}, nvsim/H100SXMx8_smi.py: 8x H100 80GB HBM3 idle 75-100 W (median ~85 W); ${IDLE_NOTE}`,
      smCount: "NVIDIA H100 whitepaper: H100 SXM5 has 132 SMs (deviceQuery: (132) Multiprocessors)",
      "efficiency.gemmPeakFraction": `${MAMF}: NVIDIA H100 SXM 794.5 TFLOP/s of 989 (80.3%), torch 2.7.0+cu126. A boost-burst figure (50 warm-up + 100 iterations after idle), not the sustained clock the power model takes as 1: the sustained figure of the same protocol on H200 (same GH100 SMs, same 700 W) is 0.706 (${MSMF}); no H100 sustained BF16 measurement found, so H100 keeps the burst value (see docs/calibration.md)`,
      "efficiency.hbmPeakFraction": `${BABEL}: ${AZURE}ND_H100_v5_results.md Triad 2.97 TB/s / 3.35 TB/s`,
      "efficiency.kernelLaunchSeconds": `No Hopper-specific public figure; same CUDA driver path as A100: ${CSCS_LAT} A100 async 2.7 us`,
      "efficiency.attentionPeakFraction": `${FA3_PAPER}. FA2 is what 2023-24 H100 training stacks ran (FA3 beta only from Jul 2024)`,
      "efficiency.attentionBackwardPeakFraction": `${FA3_FIG}, Fig. 6 (backward, head dim 128): FlashAttention-2 322 TFLOP/s at 16k / 989.4 = 0.325 (spread over seq 512-16k: 214, 260, 291, 310, 318, 322); the forward 0.35 sits in FA2's fwd range (Fig. 5, hdim 128: causal 335, non-causal 370 at 16k)`,
      "efficiency.fp8GemmPeakFraction": `${AZURE_FP8}, ND_H100_v5_results.md (H100 80GB HBM3, CUDA 12.6, driver 560.35.03, PyTorch 2.4.0): 8192^3 1290.1 TFLOP/s / 1978.9 = 0.652 (spread: 4096^3 1216.9 = 0.615, 16384^3 1377.3 = 0.696, 32768^3 1382.2 = 0.698, 6144x12288x12288 1351.4 = 0.683). Per-tensor scaling; DeepGEMM's blockwise-scaled FP8 on H800 (same GH100 SMs, README at 327ec92, Apr 2025) reaches 1410 TFLOP/s on 4096x4096x7168 (0.713) and 1520 on 4096x7168x16384 (0.768)`,
      "efficiency.fp8RowwiseGemmRelative": "pytorch/pytorch issue #147971 (lw, 2025-02-26; H100, PyTorch nightly of Feb 2025, torch._scaled_mm, fast_accum=True, row-wise CUTLASS kernel vs tensorwise cuBLAS over a sweep of M, N, K): 'Most shapes are within 90-100% of tensor-wise efficiency, but there's a long tail going down to 50%'; 0.95 is the middle of that band. Cross-check: pytorch/FBGEMM PR #2764 (lw, 2024-06-21, H100, FBGEMM's CUTLASS row-wise kernel vs cuBLAS, median us): 4176x12288x4096 310.3 vs 317.5 (0.977), 4176x4096x12288 330.4 vs 363.5 (0.909), 3456x6144x4096 131.9 vs 132.1 (0.999), 3456x4096x6144 138.7 vs 140.4 (0.987)",
      "efficiency.fp8AttentionPeakFraction": `${FA3_FIG}, Fig. 7 (FP8 forward, head dim 128): FlashAttention-3 1008 TFLOP/s at 16k / 1978.9 = 0.509 (spread 512-16k: 348, 596, 733, 918, 974, 1008; cuDNN 617-1005). No FP8 backward kernel is published: the backward is derived by ${FA_BWD_RATIO}`,
      "efficiency.commSmsScaleUp": `${NCCL_CTA_SM}. H100 SXM, 8 GPUs on NVSwitch: ncclAllGather launches 24 blocks beside a GEMM (NVIDIA developer forum, 'Compute-Communication Overlap Causes Severe GEMM Performance Degradation because of Tail Effect', 2025, FSDP-style all-gather); NCCL 2.19.3 ring search on 8 H100 finds 12 channels, duplicated to 24 (NVIDIA/nccl#1367)`,
      "efficiency.commSmsPerNic": `${NCCL_NET_CTAS}; 3 nodes of 8 H100 with 8 ConnectX-7 each, NCCL 2.22.3: ring 'Channel 00/16', 2 per NIC (NVIDIA/nccl#1453, 2024)`,
    },
  },

  H200: {
    name: "H200",
    vendor: "NVIDIA",
    peakFlops: { fp32: 66.9e12, tf32: 494.7e12, bf16: 989.4e12, fp16: 989.4e12, fp8: 1978.9e12 },
    hbmBytes: 141 * GiB,
    hbmBandwidth: 4.8e12,
    scaleUpBandwidth: 450e9,
    scaleUpKind: "nvlink",
    scaleUpDomain: 8,
    nicBandwidth: 50e9,
    tdpWatts: 700,
    idleWatts: 75,
    smCount: 132,
    efficiency: {
      gemmPeakFraction: 0.706,
      hbmPeakFraction: 0.865,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.35,
      attentionBackwardPeakFraction: 0.325,
      fp8GemmPeakFraction: 0.657,
      fp8AttentionPeakFraction: 0.509,
      commSmsScaleUp: 24,
      commSmsPerNic: 2,
    },
    sources: {
      "peakFlops.fp32": `${NV_H200_DS}: FP32 67 TFLOPS (same GH100 silicon and clocks as H100 SXM: 66.9)`,
      "peakFlops.tf32": `${NV_H200_DS}: TF32 989 TFLOPS with sparsity -> 494.7 dense`,
      "peakFlops.bf16": `${NV_H200_DS}: BF16 1,979 TFLOPS with sparsity -> 989.4 dense`,
      "peakFlops.fp16": `${NV_H200_DS}: FP16 1,979 TFLOPS with sparsity -> 989.4 dense`,
      "peakFlops.fp8": `${NV_H200_DS}: FP8 3,958 TFLOPS with sparsity -> 1978.9 dense`,
      hbmBytes: `${NV_H200_DS}: '141GB' HBM3e read as GiB: nvidia-smi reports 143771 MiB (= 140.4 GiB) visible`,
      hbmBandwidth: `${NV_H200_DS}: 4.8 TB/s`,
      scaleUpBandwidth: `${NV_H200_DS}: NVLink 900 GB/s bidirectional = 450 GB/s per direction`,
      scaleUpDomain: `HGX H200 8-GPU; ${NVLINK_SWITCH_DOMAIN}`,
      nicBandwidth: "NVIDIA DGX H200 datasheet: 8x ConnectX-7 400 Gb/s per GPU = 50e9 B/s",
      tdpWatts: `${NV_H200_DS}: max TDP up to 700 W (SXM)`,
      idleWatts: `Public nvidia-smi captures of NVIDIA H200 at 0-1 MiB used, P0: 73, 74, 74, 76, 77 W (~75 W); ${IDLE_NOTE}`,
      smCount: "Same GH100 configuration as H100 SXM5: 132 SMs",
      "efficiency.gemmPeakFraction": `${MSMF}: H200 bf16 (torch 2.14.0.dev20260810+cu130), all 8 GPUs busy: 698.6 TFLOP/s mean / 989.4 = 0.706 (GPU0 alone 702.9; saturated clock 1405-1527 MHz). The power model's clock 1 is this sustained clock; the boost-burst MAMF of the same runs, 823.9-828.0 (0.83), is not sustained in a training loop`,
      "efficiency.hbmPeakFraction": `${BABEL}: ${AZURE}ND_H200_v5_results.md Triad 4.15 TB/s / 4.8 TB/s`,
      "efficiency.kernelLaunchSeconds": `Derived from A100 (same CUDA launch path): ${CSCS_LAT} async 2.7 us`,
      "efficiency.attentionPeakFraction": `Derived from H100 (identical SMs/clocks): ${FA3_PAPER}; ${AZURE} FA2 fwd+bwd H200 329.3 vs H100 327.9 TFLOP/s confirms parity`,
      "efficiency.attentionBackwardPeakFraction": `Derived from H100 (identical SMs and clocks): ${FA3_FIG}, Fig. 6 FA2 backward hdim 128, 322 / 989.4`,
      "efficiency.fp8GemmPeakFraction": `${AZURE_FP8}, ND_H200_v5_results.md (H200 141GB, CUDA 12.6, driver 560.28.03, PyTorch 2.4.0): 8192^3 1300.6 TFLOP/s / 1978.9 = 0.657 (spread: 4096^3 1249.1 = 0.631, 16384^3 1366.3 = 0.690, 6144x12288x12288 1318.0 = 0.666)`,
      "efficiency.fp8AttentionPeakFraction": `Derived from H100 (identical SMs and clocks): ${FA3_FIG}, Fig. 7 FA3 FP8 fwd hdim 128, 1008 / 1978.9`,
      "efficiency.commSmsScaleUp": `Same GH100 and NVLink4 (18 links) as H100 SXM, so the same channels: ${NCCL_CTA_SM}; on H100 an all-gather launches 24 blocks (NVIDIA developer forum, 2025; NVIDIA/nccl#1367)`,
      "efficiency.commSmsPerNic": `Same one 400 Gb/s ConnectX-7 per GPU as DGX H100: ${NCCL_NET_CTAS}; 8 H100 per node, NCCL 2.22.3: 16 channels on 8 NICs (NVIDIA/nccl#1453)`,
    },
  },

  B200: {
    name: "B200",
    vendor: "NVIDIA",
    peakFlops: { fp32: 80e12, tf32: 1.1e15, bf16: 2.25e15, fp16: 2.25e15, fp8: 4.5e15 },
    hbmBytes: 180 * GiB,
    hbmBandwidth: 8e12,
    scaleUpBandwidth: 900e9,
    scaleUpKind: "nvlink",
    scaleUpDomain: 8,
    nicBandwidth: 50e9,
    tdpWatts: 1000,
    idleWatts: 140,
    smCount: 148,
    mxfp8: true,
    efficiency: {
      gemmPeakFraction: 0.634,
      hbmPeakFraction: 0.893,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.55,
      attentionBackwardPeakFraction: 0.479,
      fp8GemmPeakFraction: 0.621,
      fp8AttentionPeakFraction: 0.428,
    },
    sources: {
      "peakFlops.fp32": `${NV_BW_DS}: FP32 80 TFLOPS`,
      "peakFlops.tf32": `${NV_BW_DS}: TF32 2.2 PFLOPS with sparsity -> 1.1 PFLOPS dense`,
      "peakFlops.bf16": `${NV_BW_DS}: BF16 4.5 PFLOPS with sparsity -> 2.25 dense (DGX B200: 36 PF sparse / 8)`,
      "peakFlops.fp16": `${NV_BW_DS}: FP16 4.5 PFLOPS with sparsity -> 2.25 dense`,
      "peakFlops.fp8": `${NV_BW_DS}: FP8 9 PFLOPS with sparsity -> 4.5 dense (DGX B200 '72 PFLOPS training' / 8 / 2)`,
      hbmBytes: "NVIDIA DGX B200 datasheet: 1,440 GB total / 8 = '180GB' per GPU, read as GiB (nvidia-smi: 183359 MiB = 179.1 GiB visible)",
      hbmBandwidth: "NVIDIA DGX B200 datasheet: 64 TB/s HBM3e total / 8 = 8 TB/s per GPU",
      scaleUpBandwidth: "NVIDIA DGX B200 datasheet: NVLink5 1.8 TB/s per GPU bidirectional = 900 GB/s per direction",
      scaleUpDomain: `DGX/HGX B200 8-GPU; ${NVLINK_SWITCH_DOMAIN}`,
      nicBandwidth: "NVIDIA DGX B200 datasheet: 8x single-port ConnectX-7 VPI up to 400 Gb/s (one per GPU) = 50e9 B/s",
      tdpWatts: "NVIDIA HGX/DGX B200: 1000 W per GPU (nvidia-smi power cap 1000 W)",
      idleWatts: `Public nvidia-smi captures of NVIDIA B200 at 0 MiB used, P0: 136, 136, 141, 195 W (median ~140 W); ${IDLE_NOTE}`,
      mxfp8: "NVIDIA Blackwell architecture technical brief: fifth-generation Tensor Cores run OCP microscaling formats (MXFP8/MXFP6/MXFP4); Transformer Engine 2.x docs: the MXFP8BlockScaling recipe requires Blackwell (sm_100)",
      smCount: "Chips and Cheese, 'Nvidia's B200: Keeping the CUDA Juggernaut Rolling': 74 of 80 SMs enabled per die, 148 total; torch multi_processor_count=148",
      "efficiency.gemmPeakFraction": `${MSMF}: B200 bf16 (torch 2.13.0+cu130), all 8 GPUs busy: 1426.4 TFLOP/s mean / 2250 = 0.634 (GPU0 alone 1455.7; saturated clock 1228-1410 MHz; spread 10.4 % across the 8 GPUs). The boost-burst MAMF, 1745.0 (${MAMF}) and 1751.2 in these runs, is not sustained in a training loop`,
      "efficiency.hbmPeakFraction": "Derived from sibling GB300 (same 8-stack 8 TB/s HBM3e Blackwell memory system): KernelAgent 'oink' benchmarks README, measured STREAM-like BF16 triad 7.140 TB/s / 8 TB/s; no public B200 BabelStream found",
      "efficiency.kernelLaunchSeconds": `Derived from A100 (same CUDA launch path): ${CSCS_LAT} async 2.7 us`,
      "efficiency.attentionPeakFraction": `${FA4_PAPER}. Typical stack is cuDNN fused attention (Transformer Engine): 1613/1.3 ~= 1240 TFLOP/s / 2250 = 0.55 (derived; FA2 does not use tcgen05)`,
      "efficiency.attentionBackwardPeakFraction": `Derived (no B200 backward table found): forward 0.55 x ${FA_BWD_RATIO} = 0.479`,
      "efficiency.fp8GemmPeakFraction": `Derived: FP8 boost-burst MAMF 3432.5 TFLOP/s (${MAMF}, FP8 table, torch 2.7.1+cu128) x B200's own BF16 sustained/burst ratio (${MSMF}: 1426.4 / 1751.2 = 0.815) = 2796 / 4500 = 0.621; no sustained FP8 measurement published`,
      "efficiency.fp8AttentionPeakFraction": `Derived: BF16 forward 0.55 x ${FP8_ATTN_RATIO} = 0.428`,
    },
  },

  GB200: {
    name: "GB200",
    vendor: "NVIDIA",
    peakFlops: { fp32: 90e12, tf32: 1.25e15, bf16: 2.5e15, fp16: 2.5e15, fp8: 5e15 },
    hbmBytes: 186 * GiB,
    hbmBandwidth: 8e12,
    scaleUpBandwidth: 900e9,
    scaleUpKind: "nvlink",
    scaleUpDomain: 72,
    nicBandwidth: 50e9,
    tdpWatts: 1200,
    idleWatts: 165,
    smCount: 152,
    mxfp8: true,
    efficiency: {
      gemmPeakFraction: 0.729,
      hbmPeakFraction: 0.893,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.55,
      attentionBackwardPeakFraction: 0.479,
      fp8GemmPeakFraction: 0.592,
      fp8AttentionPeakFraction: 0.428,
    },
    sources: {
      "peakFlops.fp32": `${NV_GB_DS}: FP32 90 TFLOPS per GPU (6,480 TFLOPS / 72)`,
      "peakFlops.tf32": `${NV_GB_DS}: TF32 2.5 PFLOPS with sparsity per GPU -> 1.25 dense (180 PF sparse / 72 / 2)`,
      "peakFlops.bf16": `${NV_GB_DS}: BF16 5 PFLOPS with sparsity per GPU -> 2.5 dense (360 PF sparse / 72 / 2)`,
      "peakFlops.fp16": `${NV_GB_DS}: FP16 5 PFLOPS with sparsity per GPU -> 2.5 dense`,
      "peakFlops.fp8": `${NV_GB_DS}: FP8 10 PFLOPS with sparsity per GPU -> 5 dense (720 PF sparse / 72 / 2)`,
      hbmBytes: "GB200 NVL72 spec: 13.4 TB HBM3e / 72 = '186 GB' per GPU, read as GiB (MLPerf Inference v6.1 Crusoe GB200-NVL72 system json: 186 GB; nvidia-smi 189471 MiB = 185 GiB visible)",
      hbmBandwidth: "GB200 NVL72 spec: 576 TB/s HBM3e / 72 = 8 TB/s per GPU",
      scaleUpBandwidth: "GB200 NVL72 spec: NVLink5 1.8 TB/s per GPU bidirectional (130 TB/s / 72) = 900 GB/s per direction",
      scaleUpDomain: "GB200 NVL72: 72 GPUs in one NVLink Switch domain",
      nicBandwidth: "GB200 NVL72 compute tray: one ConnectX-7 400 Gb/s per GPU (4 per 4-GPU tray; ConnectX-8 800G is GB300) = 50e9 B/s",
      tdpWatts: "NVIDIA Blackwell datasheet GB200 column (1200 W configuration); nvidia-smi power cap 1200 W on GB200",
      idleWatts: `Public nvidia-smi captures of NVIDIA GB200 at 0-2 MiB used, P0: 156, 162, 166, 181 W (~165 W); ${IDLE_NOTE}`,
      mxfp8: "NVIDIA Blackwell architecture technical brief: fifth-generation Tensor Cores run OCP microscaling formats (MXFP8/MXFP6/MXFP4); Transformer Engine 2.x docs: the MXFP8BlockScaling recipe requires Blackwell (sm_100)",
      smCount: "Public GB200 benchmark logs/torch device properties: 'NVIDIA GB200, 152 SMs' (multi_processor_count=152), vs 148 on HGX B200",
      "efficiency.gemmPeakFraction": `${MAMF}: NVIDIA GB200 SXM 1822.0 of 2500 TFLOP/s (72.9%), torch 2.10.0.dev+cu130`,
      "efficiency.hbmPeakFraction": "Derived from sibling GB300 (same 8 TB/s HBM3e): KernelAgent 'oink' README measured triad 7.140 TB/s / 8 TB/s",
      "efficiency.kernelLaunchSeconds": `Derived from A100 (same CUDA launch path): ${CSCS_LAT} async 2.7 us`,
      "efficiency.attentionPeakFraction": `Derived from B200 (same Blackwell SM): ${FA4_PAPER}; cuDNN ~= 1613/1.3 TFLOP/s -> 0.55 of B200 peak, applied as a fraction`,
      "efficiency.attentionBackwardPeakFraction": `Derived from B200 (same Blackwell SM): forward 0.55 x ${FA_BWD_RATIO} = 0.479`,
      "efficiency.fp8GemmPeakFraction": `Derived (no public GB200 FP8 GEMM measurement found): BF16 0.729 (${MAMF}) x ${FP8_GEMM_RATIO} = 0.592`,
      "efficiency.fp8AttentionPeakFraction": `Derived: BF16 forward 0.55 x ${FP8_ATTN_RATIO} = 0.428`,
    },
  },

  MI300X: {
    name: "MI300X",
    vendor: "AMD",
    peakFlops: { fp32: 163.4e12, tf32: 653.7e12, bf16: 1307.4e12, fp16: 1307.4e12, fp8: 2614.9e12 },
    hbmBytes: 192 * GiB,
    hbmBandwidth: 5.3e12,
    scaleUpBandwidth: 448e9,
    scaleUpKind: "xgmi",
    scaleUpDomain: 8,
    nicBandwidth: 50e9,
    tdpWatts: 750,
    idleWatts: 133,
    smCount: 304,
    efficiency: {
      gemmPeakFraction: 0.511,
      hbmPeakFraction: 0.774,
      kernelLaunchSeconds: 2.64e-6,
      attentionPeakFraction: 0.265,
      attentionBackwardPeakFraction: 0.156,
      fp8GemmPeakFraction: 0.459,
      fp8AttentionPeakFraction: 0.207,
      commSmsScaleUp: 56,
    },
    sources: {
      "peakFlops.fp32": `${AMD_MI300X_DS}: peak FP32 matrix/vector 163.4 TFLOPS`,
      "peakFlops.tf32": `${AMD_MI300X_DS}: peak TF32 matrix 653.7 TFLOPS dense (1307.4 with sparsity)`,
      "peakFlops.bf16": `${AMD_MI300X_DS}: peak BF16 1307.4 TFLOPS dense (2614.9 with sparsity)`,
      "peakFlops.fp16": `${AMD_MI300X_DS}: peak FP16 1307.4 TFLOPS dense (2614.9 with sparsity)`,
      "peakFlops.fp8": `${AMD_MI300X_DS}: peak FP8 2614.9 TFLOPS dense (5229.8 with sparsity)`,
      hbmBytes: `${AMD_MI300X_DS}: 192 GB HBM3 = 8 stacks x 24 GiB = 192 GiB`,
      hbmBandwidth: `${AMD_MI300X_DS}: peak memory bandwidth 5.3 TB/s`,
      scaleUpBandwidth: `${AMD_MI300X_DS}: Infinity Fabric 128 GB/s bidirectional per link; 7 links to the 7 peers on the 8-GPU OAM platform -> 7 x 64 GB/s = 448 GB/s per direction`,
      scaleUpDomain: "AMD Instinct MI300X platform: 8 OAMs fully connected by xGMI",
      nicBandwidth: "Typical MI300X deployments: one 400 Gb/s NIC per GPU (e.g. Azure ND MI300X v5: 8x 400 Gb/s InfiniBand) = 50e9 B/s",
      tdpWatts: `${AMD_MI300X_DS}: 750 W peak board power (rocm-smi Max Graphics Package Power 750 W)`,
      idleWatts: `${THAMADA}, gls/MI300X_x4_smi.py: 4x MI300X socket power 130-137 W at 0% use (~133 W)`,
      smCount: `${AMD_MI300X_DS}: 304 compute units (8 XCDs x 38 CUs)`,
      "efficiency.gemmPeakFraction": `${MAMF}: AMD MI300X 668.4 TFLOP/s (torch 2.5.1+rocm6.3, PYTORCH_TUNABLEOP_ENABLED=1) / 1307.4 datasheet (table's 51.4% uses 1300). Already a power-limited (sustained) figure, unlike Hopper's burst MAMF: ${AMD_MAF} gives MI300X (750 W) BF16 708 TFLOP/s at a median 1207 MHz against the 2100 MHz peak clock, 94 % of that clock's peak; 668.4 is the same state through PyTorch's library path (at the 2100 MHz boost clock the same 94 % would be 1229). Older v1 run without cache reset: 781.9`,
      "efficiency.hbmPeakFraction": `${BABEL}: ${AZURE}ND_MI300X_v5_results.md (hip BabelStream) Triad 4.10 TB/s / 5.3 TB/s (Copy 4.15)`,
      "efficiency.kernelLaunchSeconds": `${CSCS_LAT}: 'ault:amdvega' (AMD Instinct/HIP) async launch latency 2.64 us (sync 15.1 us); no MI300X-specific public figure`,
      "efficiency.attentionPeakFraction": `${CK_FA_MI300X}: forward median 346.4 / 1307.4 = 0.265`,
      "efficiency.attentionBackwardPeakFraction": `${CK_FA_MI300X}: backward median 203.8 / 1307.4 = 0.156 (bwd/fwd 0.59 on MI300X, where H100's FA2 has 0.87)`,
      "efficiency.fp8GemmPeakFraction": `Derived from MI300X's own FP8/BF16 ratio: BF16 0.511 x (${AMD_MAF}: FP8 1273 / BF16 708 TFLOP/s = 1.798, same library build and power-limited clocks; footnote 4 gives FP8 1223.6) / 2 = 0.459 (1200 TFLOP/s). Cross-check, not a calibration: ROCm/hipBLASLt issue #1721 (Mar 2025, hipBLASLt develop 402603df, ROCm 6.3.1) hipblaslt-bench f8_r 8192^3 907 TFLOP/s with the clock fixed at 1005 MHz (0.347 of datasheet)`,
      "efficiency.fp8AttentionPeakFraction": `Derived: BF16 forward 0.265 x ${FP8_ATTN_RATIO} = 0.207`,
      "efficiency.commSmsScaleUp": `${RCCL_MI300X_CH}`,
    },
  },

  MI325X: {
    name: "MI325X",
    vendor: "AMD",
    peakFlops: { fp32: 163.4e12, tf32: 653.7e12, bf16: 1307.4e12, fp16: 1307.4e12, fp8: 2614.9e12 },
    hbmBytes: 256 * GiB,
    hbmBandwidth: 6e12,
    scaleUpBandwidth: 448e9,
    scaleUpKind: "xgmi",
    scaleUpDomain: 8,
    nicBandwidth: 50e9,
    tdpWatts: 1000,
    idleWatts: 133,
    smCount: 304,
    efficiency: {
      gemmPeakFraction: 0.6,
      hbmPeakFraction: 0.774,
      kernelLaunchSeconds: 2.64e-6,
      attentionPeakFraction: 0.265,
      attentionBackwardPeakFraction: 0.156,
      fp8GemmPeakFraction: 0.541,
      fp8AttentionPeakFraction: 0.207,
      commSmsScaleUp: 56,
    },
    sources: {
      "peakFlops.fp32": `${AMD_MI325X_DS}: peak FP32 163.4 TFLOPS (same CDNA3 compute as MI300X)`,
      "peakFlops.tf32": `${AMD_MI325X_DS}: peak TF32 653.7 TFLOPS dense (1307.4 with sparsity)`,
      "peakFlops.bf16": `${AMD_MI325X_DS}: peak BF16 1307.4 TFLOPS dense (2614.9 with sparsity)`,
      "peakFlops.fp16": `${AMD_MI325X_DS}: peak FP16 1307.4 TFLOPS dense (2614.9 with sparsity)`,
      "peakFlops.fp8": `${AMD_MI325X_DS}: peak FP8 2614.9 TFLOPS dense (5229.8 with sparsity)`,
      hbmBytes: `${AMD_MI325X_DS}: 256 GB HBM3E (8 stacks), read as GiB like MI300X's 192 GB; not independently verified`,
      hbmBandwidth: `${AMD_MI325X_DS}: peak memory bandwidth 6 TB/s`,
      scaleUpBandwidth: `${AMD_MI325X_DS}: same Infinity Fabric as MI300X, 7 peer links x 64 GB/s = 448 GB/s per direction`,
      scaleUpDomain: "AMD Instinct MI325X platform: 8 OAMs fully connected by xGMI",
      nicBandwidth: "Typical MI325X deployments: one 400 Gb/s NIC per GPU (e.g. 8-rail Broadcom Thor2 400G RoCE v2 per 8-GPU node) = 50e9 B/s",
      tdpWatts: `${AMD_MI325X_DS}: 1000 W peak board power`,
      idleWatts: "Estimate: no published MI325X idle reading found; same CDNA3 XCD/IOD silicon as MI300X, so MI300X measured idle (~133 W, thamada/nvidia-smi gls/MI300X_x4_smi.py) is used",
      smCount: `${AMD_MI325X_DS}: 304 compute units`,
      "efficiency.gemmPeakFraction": `${MAMF}: AMD MI325X 784.9 TFLOP/s (1000 W, torch 2.6.0+rocm6.2.4, TunableOp) / 1307.4 datasheet. Power-limited like MI300X's: ${AMD_MAF} gives MI325X (1000 W) BF16 843 TFLOP/s at a median 1447 MHz`,
      "efficiency.hbmPeakFraction": `Derived from MI300X (same memory controllers/IOD; no public MI325X BabelStream found): ${AZURE}ND_MI300X_v5_results.md Triad 4.10 / 5.3 TB/s`,
      "efficiency.kernelLaunchSeconds": `Derived from AMD HIP measurement: ${CSCS_LAT} 'ault:amdvega' async 2.64 us`,
      "efficiency.attentionPeakFraction": `Derived from MI300X (same CDNA3 silicon; no MI325X flash-attention table found; its higher power limit is not credited): ${CK_FA_MI300X}: forward 0.265`,
      "efficiency.attentionBackwardPeakFraction": `Derived from MI300X (same CDNA3 silicon; no MI325X table found): ${CK_FA_MI300X}: backward 0.156`,
      "efficiency.fp8GemmPeakFraction": `Derived from MI325X's own FP8/BF16 ratio: BF16 0.600 x (${AMD_MAF}: MI325X FP8 1519 / BF16 843 TFLOP/s = 1.802) / 2 = 0.541`,
      "efficiency.fp8AttentionPeakFraction": `Derived: BF16 forward 0.265 x ${FP8_ATTN_RATIO} = 0.207`,
      "efficiency.commSmsScaleUp": `Derived from MI300X (same RCCL topology: 8 OAMs fully connected by xGMI, 304 CUs): ${RCCL_MI300X_CH}`,
    },
  },

  "TPU-v5p": {
    name: "TPU-v5p",
    vendor: "Google",
    peakFlops: { bf16: 459e12, fp8: 459e12 }, // int8 918 TOPS has no slot in Precision
    hbmBytes: 95 * GiB,
    hbmBandwidth: 2765e9,
    scaleUpBandwidth: 600e9,
    scaleUpKind: "ici",
    // The whole 3D-torus pod is one ICI domain; max schedulable slice is 6144 chips.
    scaleUpDomain: 8960,
    nicBandwidth: 6.25e9,
    tdpWatts: 320,
    idleWatts: 90,
    // 2 TensorCores x 4 MXUs (128x128 systolic): MXU is the unit XLA tiles GEMMs onto.
    smCount: 8,
    efficiency: {
      gemmPeakFraction: 0.923,
      hbmPeakFraction: 0.834,
      kernelLaunchSeconds: 1e-6,
      attentionPeakFraction: 0.775,
    },
    sources: {
      "peakFlops.bf16": `${TPU_V5P}: peak compute per chip (BF16) 459 TFLOPs (Google does not qualify as sparse; treated as dense)`,
      "peakFlops.fp8": `${TPU_V5P}: peak compute per chip (FP8) 459 TFLOPs (no FP8 speed-up on v5p; older page lists INT8 918 TOPS)`,
      hbmBytes: `${TPU_V5P}: HBM capacity per chip 95 GiB (HBM2e)`,
      hbmBandwidth: `${TPU_V5P}: HBM bandwidth per chip 2765 GBps`,
      scaleUpBandwidth: `${TPU_V5P}: bidirectional ICI bandwidth per chip 1200 GBps (= 4,800 Gbps) -> 600e9 B/s per direction summed over the 6 torus links; one torus axis uses 2 of 6`,
      scaleUpDomain: `${TPU_V5P}: TPU pod = 8960 chips in a 3D torus (largest single job 6144 chips)`,
      nicBandwidth: `${TPU_V5P}: data center network (DCN) bandwidth per chip 50 Gbps = 6.25e9 B/s`,
      tdpWatts: "Derived (Google publishes no v5p power): TPU v4 max chip power 192 W (Jouppi et al., 'TPU v4', ISCA 2023) scaled by BF16 peak 459/275 -> ~320 W",
      idleWatts: "Derived: TPU v4 minimum chip power ~90 W (Jouppi et al., ISCA 2023) carried over unscaled; no v5p figure published",
      smCount: `${TPU_V5P}: 2 TensorCores per chip, each with 4 MXUs -> 8 MXUs (GEMM tiles are 128x128 per MXU)`,
      "efficiency.gemmPeakFraction": "Derived from sibling TPU v5e (same 128x128 MXU design): JAX docs 'Pallas TPU Matrix Multiplication' (jax-ml/jax docs/pallas/tpu/matmul), XLA jnp.matmul bf16 8192^3 = 181.8 TFLOP/s = 92.3% of 197; no v5p GEMM benchmark published",
      "efficiency.hbmPeakFraction": "Derived (no published v5p stream measurement): HBM2e stream efficiency of A100-80GB, Azure ND A100 v4 BabelStream Triad 1.70 / 2.039 TB/s",
      "efficiency.kernelLaunchSeconds": "Estimate: XLA compiles the step into one executable, so there is no per-op host launch; ~1 us per fused HLO op boundary assumed, no public measurement",
      "efficiency.attentionPeakFraction": "Derived: v5e-derived GEMM fraction 0.923 x (A100 FA2-fwd/GEMM ratio 0.73/0.869 = 0.84) = 0.775 for Pallas flash/splash attention; no published measurement, likely optimistic",
    },
  },

  Gaudi3: {
    name: "Gaudi3",
    vendor: "Intel",
    peakFlops: { bf16: 1835e12, fp8: 1835e12 },
    hbmBytes: 128 * GiB,
    hbmBandwidth: 3.67e12,
    // 21 of 24 200GbE ports form the all-to-all scale-up mesh in an 8-card HLS/HLB board (3 per peer).
    scaleUpBandwidth: 525e9,
    scaleUpKind: "roce",
    scaleUpDomain: 8,
    nicBandwidth: 75e9,
    tdpWatts: 900,
    idleWatts: 264,
    // 8 MMEs do the GEMMs (64 TPCs handle non-matmul work).
    smCount: 8,
    efficiency: {
      gemmPeakFraction: 0.677,
      hbmPeakFraction: 0.834,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.569,
    },
    sources: {
      "peakFlops.bf16": `${GAUDI3_HC}: BF16 matrix (MME) 1835 TFLOPS at the planned 1.75 GHz MME clock (shipping parts run 1.6 GHz = 1677 per ml-engineering)`,
      "peakFlops.fp8": `${GAUDI3_HC}: FP8 matrix (MME) 1835 TFLOPS`,
      hbmBytes: `${GAUDI3_HC}: 128 GB HBM2e (8 stacks); hl-smi reports 131072 MiB = 128 GiB`,
      hbmBandwidth: `${GAUDI3_HC}: HBM bandwidth 3.67 TB/s (marketing rounds to 3.7)`,
      scaleUpBandwidth: `${GAUDI3_HC}: 24x 200GbE RoCE (1200 GB/s bidirectional); Intel Gaudi 3 white paper HLS-style 8-card board: 21 ports all-to-all -> 21 x 25 GB/s = 525 GB/s per direction (assumption: HLB baseboard topology)`,
      scaleUpDomain: "Intel Gaudi 3 white paper: 8 OAMs all-to-all per baseboard",
      nicBandwidth: "Intel Gaudi 3 white paper: remaining 3 of 24 200GbE ports per card for scale-out = 600 Gb/s = 75e9 B/s",
      tdpWatts: `${GAUDI3_HC}: TDP (OAM) 900 W air-cooled (1200 W liquid)`,
      idleWatts: "instructlab/instructlab Intel Gaudi guide hl-smi capture: HL-325 264 W / 900 W at 0% AIP-Util, 672 MiB used (single reading)",
      smCount: `${GAUDI3_HC}: MME units 8, TPC units 64`,
      "efficiency.gemmPeakFraction": `${MAMF}: Intel Gaudi 3 1243.0 TFLOP/s (PT_HPU_LAZY_MODE=1) / 1835 Intel peak (table reports 74.1% against its 1677 1.6 GHz figure)`,
      "efficiency.hbmPeakFraction": "Derived (no published Gaudi 3 stream measurement): HBM2e stream efficiency of A100-80GB, Azure ND A100 v4 BabelStream Triad 1.70 / 2.039 TB/s",
      "efficiency.kernelLaunchSeconds": `Estimate: graph-compiled (lazy/recipe) launches; no public per-op figure, GPU value used (${CSCS_LAT} A100 async 2.7 us)`,
      "efficiency.attentionPeakFraction": "Derived: measured GEMM fraction 0.677 x (A100 FA2-fwd/GEMM ratio 0.73/0.869 = 0.84) = 0.569 for FusedSDPA; no published measurement",
    },
  },
};
