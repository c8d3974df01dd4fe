/** Citations shared by the catalog files (each a published measurement or document). */

export const GiB = 2 ** 30;

export const MAMF =
  "stas00/ml-engineering, compute/accelerator/README.md, 'Maximum Achievable Matmul FLOPS comparison table' (BF16, mamf-finder v2: mean of 100 iters, best shape) https://github.com/stas00/ml-engineering/tree/master/compute/accelerator";
export const AZURE = "Azure/AI-benchmarking-guide, Azure_Results/";
export const MSMF =
  "stas00/ml-engineering, compute/accelerator/benchmarks/README.md, 'What we measured: alone vs all-8 concurrent' (mamf-finder.py --search auto, MSMF = Maximum Sustainable Matmul FLOPS: best shape after a thermal soak, power-saturated near TDP; 'All 8 GPUs x 5 rounds (n=40)' = every GPU of the node computing, as in training)";
export const BABEL = "BabelStream (cuda-stream/hip-stream) Triad, divided by datasheet hbmBandwidth";
export const CSCS_LAT =
  "CSCS ReFrame gpu_kernel_latency_check reference values (reframe-hpc/reframe, cscs-checks/microbenchmarks/gpu/kernel_latency/kernel_latency.py)";
export const FA2_PAPER =
  "Dao, 'FlashAttention-2' (arXiv:2307.08691), forward pass reaches up to 73% of A100 theoretical peak (abstract, Sec. 4.1)";
export const FA3_PAPER =
  "Shah et al., 'FlashAttention-3' (arXiv:2407.08608): FA2 reaches only ~35% utilisation on H100 (FA3 BF16 740 TFLOP/s = 75%)";
export const FA4_PAPER =
  "Zadouri, Dao et al., 'FlashAttention-4' (2026): up to 1613 TFLOP/s BF16 fwd on B200 (71%), up to 1.3x over cuDNN 9.13";
export const AZURE_FP8 =
  "Azure/AI-benchmarking-guide (commit 8fd0c6e, Sep 2024), Azure_Results/, 'GEMM CuBLASLt' table: FP8, random init, 10,000 warm-up iterations";
export const FA3_FIG =
  "Shah et al., 'FlashAttention-3' (arXiv:2407.08608), H100 80GB SXM5 benchmark figures, values from the bar labels (software versions as the paper's Sec. 4 states them)";
export const FA_BWD_RATIO =
  "backward/forward ratio of the same FA2 kernel on H100 at head dim 128, 16k (322 / 370 TFLOP/s = 0.87, FA3 paper Fig. 5a/6b; FA3 itself: 561 / 648 = 0.87)";
export const FP8_ATTN_RATIO =
  "FP8/BF16 ratio of attention fractions on H100 (FA3 FP8 fwd 1008/1978.9 = 0.509 against FA3 BF16 fwd 648/989.4 = 0.655: 0.78)";
export const AMD_MAF =
  "AMD ROCm blog 'Measuring Max-Achievable FLOPs - Part 2' (Feb 2025), Table 1 and footnotes 2/4: hipblaslt-bench 4096x4864x32896 (FP8 4096x3648x32896), trig_float input, 1000 ms runs with ~25 % warm-up, median clock of the slowest XCD; ROCm 6.3.0, hipBLASLt db8e93b4fd6; 8-GPU platforms at their rated board power";
export const CK_FA_MI300X =
  "ROCm/flash-attention issue #142 (May 2025): the repository's benchmark_flash_attention.py on MI300X, ROCm 6.3.2, CK backend, BF16, head dim 128, seq 16384, non-causal, batch 1/2/4/8: fwd 353.2 / 355.5 / 339.6 / 309.6, bwd 194.4 / 202.1 / 205.4 / 206.7 TFLOP/s";
export const AOTRITON_FWD_MI300X =
  "midiareshadi/attn-dsl-bench (commit 603819b), results/raw/sweep_v1.csv: torch.nn.functional.scaled_dot_product_attention on one MI300X (PyTorch 2.10.0+git8514f05, ROCm 7.2.2; the README confirms SDPA dispatches to AOTriton's attn_fwd), BF16, causal, head dim 128, batch 16, 16 heads, 30 timed after 50 warm-up, median, causal FLOPs counted half: seq 1024/2048/4096/8192/16384 = 164.1 / 214.5 / 256.9 / 289.5 / 306.5 TFLOP/s";
export const AOTRITON_BWD_MI300X =
  "ROCm/aotriton tag 0.11b (2025-08-28), v3python/rules/op_database.sqlite3 (file of 2025-08-22), table FLASH$op_attn_bwd, gpu gfx942_mod0 (MI300X), torch.bfloat16, BLOCK_DMODEL 128, no dropout or bias: op$tflops of backend 0 (split: bwd_preprocess + bwd_kernel_dk_dv + bwd_kernel_dq, what 0.10b's attn_bwd runs, v2src/flash/attn_bwd.cc _attn_bwd_common), timed by the op tuner (test/mptune/flash/benchmark.py, do_bench mean over 250 ms, L2 flushed) and counted as 4*B*H*sq*sk*d per call (db_benchmark.py: the forward's non-causal FLOPs) on B=8, H=12 (optune_flash.py defaults) cut to B=3, H=4 (non-causal) and B=2, H=2 (causal) from seq 4096 (its VRAM rule): non-causal seq 1024/2048/4096/8192 = 42.6 / 44.9 / 43.4 / 45.7, causal 53.6 / 62.4 / 44.9 / 60.5";
export const RCCL_MI300X_CH =
  "RCCL 2.21.5 (ROCm 6.3.0, HIP 6.3.42131) NCCL_DEBUG=INFO log of an 8-GPU single-node job on an Azure ROCm VM (8 GPUs, kernel 5.15.0-1086-azure, i.e. ND MI300X v5; LLaMA-Factory run, 2025-06-02): 'Channel 00/56' ... 'Channel 55/56', 14 distinct rings each 4x; RCCL launches one workgroup per channel, so 56 CUs of 304. Same figure in ROCm/rccl PR #2073 (Dec 2025, MI350 WarpSpeed): the 8-rank single-node default maps to 56 CUs";
export const NV_A100_DS =
  "NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf), SXM column";
export const NV_H100_WP =
  "NVIDIA H100 Tensor Core GPU Architecture whitepaper, Table 'H100 SXM5' (also H100 datasheet, SXM column; sparse figures halved)";
export const NV_H200_DS = "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column https://www.nvidia.com/en-us/data-center/h200/";
export const NV_BW_DS =
  "NVIDIA Blackwell datasheet per-GPU table (HGX B200 @1000 W column), as tabulated at https://glennklockwood.com/garden/processors/B200 (sparse figures halved)";
export const NV_GB_DS =
  "NVIDIA Blackwell datasheet per-GPU table (GB200 @1200 W column) / GB200 NVL72 spec page https://www.nvidia.com/en-us/data-center/gb200-nvl72/ (rack figures /72, sparse halved)";
export const AMD_MI300X_DS =
  "AMD Instinct MI300X data sheet (amd-instinct-mi300x-data-sheet.pdf) https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html";
export const AMD_MI325X_DS =
  "AMD Instinct MI325X data sheet https://www.amd.com/en/products/accelerators/instinct/mi300/mi325x.html";
export const TPU_V5P =
  "Google Cloud TPU v5p system architecture table https://cloud.google.com/tpu/docs/v5p";
export const GAUDI3_HC =
  "Intel, 'Intel Gaudi 3 AI Accelerator: Architected for Gen AI Training and Inference' (Hot Chips 2024, R. Kaplan), spec table p.2/p.4; Intel Gaudi 3 white paper";
export const THAMADA = "thamada/nvidia-smi (GitHub) captured idle nvidia-smi/rocm-smi output";
export const IDLE_NOTE = "idle = board power with no process, persistence on, 0% util";
export const NVLINK_SWITCH_DOMAIN = "HGX/DGX 8-GPU NVSwitch baseboard (one NVLink hop domain)";
export const NCCL_CTA_SM =
  "NCCL runs one CTA per channel and a CTA holds an SM to itself ('NCCL CTAs won't share an SM with compute kernels': S. Jeaugey, NVIDIA/nccl#689, Aug 2023, because NCCL uses all of its registers) and NCCL launches 2 CTAs per NVLink to saturate large messages (AddyLaddy, NVIDIA/nccl#1703, May 2025)";
export const NCCL_NET_CTAS =
  "Across nodes NCCL uses 2 channels (SMs) per NIC: 'If you have a PCI system with a single NIC ... it should just launch 2 SMs. If you are on DGX with 8 NICs and a top speed of 190 GB/s, then it would use 16 SMs' (S. Jeaugey, NVIDIA/nccl#689, 2022, DGX A100 8x HDR)";
export const NV_H800_DS =
  "NVIDIA H800 Tensor Core GPU datasheet (SXM5; the export variant of H100 SXM5: same GH100 die, SM count, clocks and HBM3, NVLink cut to 8 links)";
export const NV_GB300_DS =
  "NVIDIA GB300 NVL72 specifications https://www.nvidia.com/en-us/data-center/gb300-nvl72/ (rack figures /72: FP4 1,440 PFLOPS sparse / 1,080 dense, FP8 720 PF sparse, BF16 360 PF sparse, HBM3e 576 TB/s, NVLink 130 TB/s, one ConnectX-8 800 Gb/s SuperNIC per GPU) and NVIDIA technical blog 'Inside NVIDIA Blackwell Ultra' (Aug 2025): 15 PFLOPS dense NVFP4, 288 GB HBM3e, 160 SMs";
export const NVLS_B200 =
  "NVIDIA/nccl#1807 (Aug 2025, NCCL 2.27.1): all_reduce_perf on 8 x B200 in one HGX node reaches 'busbw 830+' (above a ring's NVLink ceiling, so NVLS): algbw 830 / (2 x 7/8) = 474 GB/s = 0.527 of NVLink5's 900 GB/s per direction";
export const NVFP4_VLLM =
  "vllm-project/vllm PR #20578 (mgoin, Jul 2025), benchmarks/kernels/bench_nvfp4_gemm.py on B200 (same runs' torch BF16 1360-1421 TFLOP/s = 0.60-0.63 of 2250, B200's sustained level): CUTLASS NVFP4 GEMM without the activation quantization ('nvfp4-noquant'), N=6144 K=4096, M=16384: 3904 TFLOP/s / 9000 dense = 0.434 (M=8192: 3779 = 0.420)";
export const TPU_V4 =
  "Jouppi et al., 'TPU v4: An Optically Reconfigurable Supercomputer for Machine Learning with Hardware Support for Embeddings', ISCA 2023 (arXiv:2304.01433); Google Cloud TPU v4 system architecture https://cloud.google.com/tpu/docs/v4";
export const SCALING_BOOK =
  "Austin et al., 'How to Scale Your Model' (jax-ml/scaling-book, tpus.md at 0819a7d, Feb 2025), table 'ICI BW/link (one-way, bytes/s)': TPU v4p 4.5e10, v5p 9e10, v5e 4.5e10; 'DCN bandwidth is typically around 2.5e10 bytes / second per host' (4 chips per host)";
export const AZURE_GB200 =
  "Azure/AI-benchmarking-guide, Azure_Results/ND_GB200_v6_results.md (GB200 185GB, CUDA 12.8, driver 570.133.20, NCCL 2.25.1, PyTorch 2.6.0): 'GEMM CuBLASLt' tables, random init, 10,000 warm-up iterations";
export const CUDNN_SDPA_B200 =
  "NVIDIA/cudnn-frontend benchmark/sdpa_benchmark_training (commit 9793df5, Jul 2025; README 'Software versions'): cuDNN 9.10.2 called through cudnn-frontend 1.12 (`cudnn_fe`, the graph API Transformer Engine's fused attention uses), NGC pytorch:25.06, CUDA 12.9, one B200 at free clock; Llama-3.1-405B-like layer: batch 1, 128 query / 8 KV heads, head dim 128, causal, sequence 512-128k (artifacts/sdpa_fp8_benchmark_results_NVIDIA_B200.csv, bf16 and fp8 rows; TFLOP/s count s^2/2 for causal). BF16 fwd / bwd TFLOP/s at 2k, 4k, 8k, 16k, 32k: 670 / 500, 996 / 802, 1248 / 988, 1365 / 1137, 1435 / 1175; FP8: 717 / 589, 1095 / 911, 1370 / 1214, 1560 / 1435, 1651 / 1561";
export const CUDNN_SDPA_GB =
  "NVIDIA/cudnn-frontend benchmark/sdpa_benchmark_training (commit b372d39, Dec 2025): cuDNN 9.17.0 through cudnn-frontend 1.16 (`cudnn_fe`), NGC pytorch:25.11, CUDA 13.0, one GPU of a 4-GPU tray; same layer as the B200 table (batch 1, 128/8 heads, head dim 128, causal), artifacts/sdpa_bf16_benchmark_results_NVIDIA_<GPU>.csv, rows cudnn_fe and cudnn_fe_fp8";
export const CUDNN_FA3_FIG =
  "Shah et al., 'FlashAttention-3' (arXiv:2407.08608, Jul 2024), Fig. 5-7, H100 80GB SXM5, head dim 128, batch x sequence = 16k tokens, 16 heads, the cuDNN bars (cuDNN's fused attention of mid-2024, what Transformer Engine ran): BF16 forward causal 315, 410, 484, 518, 529, 539 TFLOP/s (512-16k; non-causal 497, 574, 617, 609, 600, 595); backward 305, 408, 465, 499, 518, 516; FP8 forward 617, 751, 886, 864, 971, 1005 (causal FLOPs counted as half)";
export const CUDNN_SDPA_H200 =
  "NVIDIA/cudnn-frontend benchmark/sdpa_benchmark_training (commit df73764, Mar 2026), results/h200_919_only_cudnn/llama3.1_20260227_034703.csv: cuDNN 9.19.1 (backend 91901) through cudnn-frontend 1.19.0, one NVIDIA H200; Llama-3.1-70B-like layer: batch 1, 64 query / 8 KV heads, head dim 128, causal (top_left), TFLOP/s counting s^2/2. BF16 fwd / bwd at 2k, 4k, 8k, 16k, 32k: 484 / 370, 591 / 474, 644 / 541, 673 / 579, 688 / 581; FP8: 698 / 393, 854 / 471, 964 / 430, 1010 / 374, 1042 / 370. What Transformer Engine runs on Hopper: its backend selection disables FlashAttention in favour of FusedAttention (cuDNN) on sm90 when both can run (NVIDIA/TransformerEngine attention.py since commit 32db392, Dec 2023; dot_product_attention/utils.py get_attention_backend today)";
export const ATTN_FILL_FIT =
  "level (at 16k keys, trainsim's reference) and key-loop fill (keys' worth of fixed work per query block, a multiple of 128) fitted by log least squares to the table's 2k-32k causal points, with trainsim's causal FLOP count (diagonal blocks whole); 512-1k (launch-bound) and 64k-128k (falling, clock) left out";
export const CCCL_STREAM_B200 =
  "NVIDIA/cccl PR #9481 (Jun 2026), cub::DeviceTransform babelstream benchmarks on one B200 (nvbench BWUtil against its own B200 peak, 7.672 TB/s = 6.721 TB/s / 87.60 % in PR #7391's B200 tables): 2^28-element kernels (1-4 GB moved) at 92.2-93.1 % = 7.07-7.14 TB/s = 0.884-0.893 of 8 TB/s; PR #7391's pytorch-style elementwise add, F16 2^28: 6.721 TB/s (0.840)";
export const TE_GEMM_B300 =
  "NVIDIA/TransformerEngine docs/examples/gemm_profiling/gemm_profiling.rst (commit 8f2e635, PR #2863, 2026), benchmarks/gemm/benchmark_gemm.py on one 'NVIDIA B300 SXM6 AC' with --pre-quantize (inputs quantized once before the timed loop: GEMM kernels only), CUDA events, 10 warm-up + 100 timed iterations; the 12 GEMMs of a hidden 4096 / ffn 16384 layer at M = 15,872 tokens (fprop, dgrad, wgrad of QKV, output, MLP up and down). Per-layer GEMM time FP8 CurrentScaling (per-tensor) 6.812 ms, MXFP8 7.161 ms: 0.951 (fprop 2.158 / 2.365 = 0.912, dgrad 2.329 / 2.397 = 0.972, wgrad 2.325 / 2.400 = 0.969); both recipes in one run, so the clock cancels";
export const TE_GEMM_H200_BLOCK =
  "NVIDIA/TransformerEngine docs/examples/gemm_profiling/gemm_profiling.rst (commit 8f2e635, PR #2863, 2026), 'Worked Example: 5B Model on H200': benchmarks/gemm/benchmark_gemm.py on one 'NVIDIA H200 NVL' (Hopper, SM90), CUDA events, the same 12 GEMMs of a hidden 4096 / ffn 16384 layer at M = 15,872 tokens, each a te.Linear call under te.autocast (activation and weight quantized in every call, then the GEMM). Per-layer time, autocast: FP8 CurrentScaling 20.285 ms (fprop 6.503, dgrad 6.795, wgrad 6.987), FP8 Block Scaling (Float8BlockScaling: 1x128 / 128x128 scales, cuBLASLt) 22.882 ms (7.425, 7.636, 7.821); pre-quantized (GEMM kernels only) FP8 CurrentScaling 16.785 ms (5.577, 5.661, 5.547), Block Scaling not run pre-quantized on Hopper. Current scaling's quantization, measured: 20.285 - 16.785 = 3.500 ms (trainsim's fp8.ts bytes, 6 per element with the amax pass, give 3.59 ms at H200's HBM level). Block scaling's, by the same bytes model (one pass, 4.0625 per element): 3.500 x 4.0625 / 6 = 2.370 ms. Block-scaled GEMMs 22.882 - 2.370 = 20.512 ms against 16.785 per-tensor: 0.818 (per pass: fprop 0.820, dgrad 0.824, wgrad 0.810; if the block quantization cost as much as current scaling's, 16.785 / 19.382 = 0.866). All recipes in one run, so the clock cancels";

/**
 * Power-limit sweeps of GEMMs on Blackwell, the source of the Blackwell DVFS exponent
 * (models/power/gpu-power.ts; docs/calibration.md "Power limits on Blackwell").
 */
export const BLACKWELL_DVFS =
  "Kernel-level GEMM throughput against the power limit on Blackwell, fitted to P = idle + (limit at default - idle) x clock^gamma with idle at B200's share of TDP (140/1000) and clock = throughput over the default-limit throughput: (1) 1a1a11a/gpu_power (commit a4f290c, Oct 2025), figures/tflops_vs_power.png, RTX PRO 6000 Blackwell (GB202, 600 W), torch.matmul BF16 8192^3 on randn and Transformer Engine FP8, 20 warm-up + 2000 timed iterations per limit: BF16 317 / 259 / 218 / 170 / 146 / 120 TFLOP/s and FP8 513 / 428 / 369 / 297 / 260 / 216 at 600 / 480 / 400 / 320 / 280 / 240 W, gamma 1.25 (BF16) and 1.41 (FP8), 1.3 within 7 % of the ten capped points, where 2.5 is 8-64 % high; (2) facebookexperimental/triton PR #2023 (2026-07-14): cuBLAS GEMM on GB300 ~617 TFLOP/s at a 500 W limit against ~1600-2174 at its default 1400 W, gamma 1.04-1.37 with the catalog idle 165 W (1.3 predicts 0.3666 of the default-limit throughput, measured 0.284-0.386; 2.5 predicts 0.593). Why low: B200's sustained GEMM clock at 1000 W is 1228-1460 of 1965 MHz (stas00/ml-engineering MSMF table), near the voltage floor, below which power falls about linearly with the clock";
