/** Google TPUs: chips of a 3D-torus ICI pod. */
import type { Accelerator } from "../types.ts";
import { GiB, SCALING_BOOK, TPU_V4, TPU_V5P } from "./sources.ts";

const MEGACORE =
  "Megacore: two TensorCores appear as one JAX device, and a Pallas kernel's grid dimensions marked 'parallel' are split between them (jax-ml/jax docs/pallas/tpu/pipelining.md 'TPUs in Megacore configuration': 'Megacore is only currently available on TPU v4 and TPU v5p'; docs/pallas/tpu/core_map.md, written on a v5p chip: 2 TensorCores per device)";

const MXU_DIM =
  `${SCALING_BOOK}: the MXU is a 128x128 systolic array on every generation before v6e ('TPU v6e (Trillium) has a 256x256 MXU, while all previous generations use 128x128'); 'Weight matrices need to be padded to at least size 128 ... in both dimensions to fill up the MXU' (tpus.md)`;

export const GOOGLE: Readonly<Record<string, Accelerator>> = {
  "TPU-v4": {
    name: "TPU-v4",
    vendor: "Google",
    peakFlops: { bf16: 275e12 }, // int8 275 TOPS has no slot in Precision; no FP8 on v4
    hbmBytes: 32 * GiB,
    hbmBandwidth: 1200e9,
    // 6 ICI links (a 3D torus) of 50 GB/s per direction each.
    scaleUpBandwidth: 300e9,
    scaleUpKind: "ici",
    // One 4096-chip pod (64 cubes of 4x4x4 joined by optical circuit switches) is one ICI domain.
    scaleUpDomain: 4096,
    nicBandwidth: 6.25e9,
    tdpWatts: 192,
    idleWatts: 90,
    // 2 TensorCores x 4 MXUs (128x128 systolic).
    smCount: 8,
    megacoreTensorCores: 2,
    matrixUnitDim: 128,
    efficiency: {
      gemmPeakFraction: 0.923,
      hbmPeakFraction: 0.834,
      kernelLaunchSeconds: 1e-6,
      attentionPeakFraction: 0.775,
    },
    sources: {
      "peakFlops.bf16": `${TPU_V4}: peak compute per chip 275 TFLOPS (BF16 or INT8), no sparsity`,
      hbmBytes: `${TPU_V4}: 32 GiB HBM2 per chip`,
      hbmBandwidth: `${TPU_V4}: HBM bandwidth 1200 GBps per chip (stas00/ml-engineering#40 corrects a 2,400 to this figure from the Cloud page)`,
      scaleUpBandwidth: `${TPU_V4}: 6 ICI links per chip (3D torus, twisted torus optional through the OCSes), each 50 GB/s per direction ('400G' per direction, the paper's ICI figure as summarised at glennklockwood.com/garden/processors/TPUv4) -> 300e9 B/s per direction over the 6 links. ${SCALING_BOOK} gives 4.5e10 one-way per v4p link`,
      scaleUpDomain: `${TPU_V4}: a pod of 4096 chips = 64 cubes of 4x4x4 joined by 48 optical circuit switches`,
      nicBandwidth: `${SCALING_BOOK}: 2.5e10 / 4 chips = 6.25e9 B/s per chip over the data-centre network (no v4-specific DCN figure found)`,
      tdpWatts: `${TPU_V4}: 192 W maximum chip power`,
      idleWatts: `${TPU_V4}: ~90 W minimum chip power (as the TPU-v5p entry carries over)`,
      smCount: `${TPU_V4}: 2 TensorCores per chip, 4 MXUs each -> 8 MXUs`,
      megacoreTensorCores: MEGACORE,
      matrixUnitDim: MXU_DIM,
      "efficiency.gemmPeakFraction": "Derived from TPU v5e (same 128x128 MXU design): JAX docs 'Pallas TPU Matrix Multiplication', XLA jnp.matmul bf16 8192^3 = 181.8 TFLOP/s = 92.3% of 197; no v4 GEMM benchmark found",
      "efficiency.hbmPeakFraction": "Derived (no published v4 stream measurement): HBM2 stream efficiency of A100-80GB, Azure ND A100 v4 BabelStream Triad 1.70 / 2.039 TB/s",
      "efficiency.kernelLaunchSeconds": "Estimate: XLA compiles the step into one executable; ~1 us per fused HLO op boundary assumed, no public measurement",
      "efficiency.attentionPeakFraction": "Derived as TPU-v5p's: GEMM fraction 0.923 x (A100 FA2-fwd/GEMM 0.73/0.869 = 0.84) = 0.775; no published measurement, likely optimistic",
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
    megacoreTensorCores: 2,
    matrixUnitDim: 128,
    efficiency: {
      gemmPeakFraction: 0.923,
      hbmPeakFraction: 0.834,
      // (2 x 268 MB + 2 x 268 MB) / (1.205 + 2.148 ms) = 320 GB/s of 2765: see sources.
      gatherPeakFraction: 0.116,
      kernelLaunchSeconds: 1e-6,
      attentionPeakFraction: 0.775,
    },
    sources: {
      "peakFlops.bf16": `${TPU_V5P}: peak compute per chip (BF16) 459 TFLOPs (Google does not qualify as sparse; treated as dense)`,
      "peakFlops.fp8": `${TPU_V5P}: peak compute per chip (FP8) 459 TFLOPs (no FP8 speed-up on v5p; older page lists INT8 918 TOPS)`,
      hbmBytes: `${TPU_V5P}: HBM capacity per chip 95 GiB (HBM2e)`,
      hbmBandwidth: `${TPU_V5P}: HBM bandwidth per chip 2765 GBps`,
      scaleUpBandwidth: `${TPU_V5P}: bidirectional ICI bandwidth per chip 1200 GBps (= 4,800 Gbps) -> 600e9 B/s per direction summed over the 6 torus links (100e9 per link per direction); one torus axis uses 2 of 6. ${SCALING_BOOK} (tpus.md table) gives 9e10 B/s one-way per v5p link (1.8e11 bidirectional), 10 % below`,
      scaleUpDomain: `${TPU_V5P}: TPU pod = 8960 chips in a 3D torus (largest single job 6144 chips)`,
      nicBandwidth: `${TPU_V5P}: data center network (DCN) bandwidth per chip 50 Gbps = 6.25e9 B/s`,
      tdpWatts: "Derived (Google publishes no v5p power): TPU v4 max chip power 192 W (Jouppi et al., 'TPU v4', ISCA 2023) scaled by BF16 peak 459/275 -> ~320 W",
      idleWatts: "Derived: TPU v4 minimum chip power ~90 W (Jouppi et al., ISCA 2023) carried over unscaled; no v5p figure published",
      smCount: `${TPU_V5P}: 2 TensorCores per chip, each with 4 MXUs -> 8 MXUs (GEMM tiles are 128x128 per MXU)`,
      megacoreTensorCores: MEGACORE,
      matrixUnitDim: MXU_DIM,
      "efficiency.gemmPeakFraction": "Derived from sibling TPU v5e (same 128x128 MXU design): JAX docs 'Pallas TPU Matrix Multiplication' (jax-ml/jax docs/pallas/tpu/matmul), XLA jnp.matmul bf16 8192^3 = 181.8 TFLOP/s = 92.3% of 197; no v5p GEMM benchmark published",
      "efficiency.hbmPeakFraction": "Derived (no published v5p stream measurement): HBM2e stream efficiency of A100-80GB, Azure ND A100 v4 BabelStream Triad 1.70 / 2.039 TB/s",
      "efficiency.gatherPeakFraction":
        "Measured on one v5p chip: marin-community/marin .agents/projects/moe_hillclimb_harness.md (commit eada70a3), 'Stage timing breakdown (forward, E=64, topk=2)', gmm row: pack 0.001205 s, combine 0.002148 s; each stage jitted and timed alone (lib/levanter/scripts/bench/bench_moe_hillclimb.py at eada70a3, _time_fn, arrays unsharded on one device of the dev TPU dlwh-codex1, a v5p-8 of infra/marin-us-central1.yaml). pack = argsort of 65536 expert ids + jnp.take of 65536 rows of 2048 bf16 (tokens 32768, top-2); combine = argsort of the order + jnp.take of the 65536 expert-output rows + the fp32 top-k weighted sum. Counted as trainsim counts a permute (rows read + written, 2 x 2 x 65536 x 2048 B = 537 MB each): 1.074 GB / 3.353 ms = 320 GB/s = 0.116 of 2765 GB/s (pack alone 0.161, combine 0.090). ASSUMPTION: per byte at other row sizes (Mixtral 8 KiB, DeepSeek-V3 14 KiB rows; no measurement at another hidden size found)",
      "efficiency.kernelLaunchSeconds": "Estimate: XLA compiles the step into one executable, so there is no per-op host launch; ~1 us per fused HLO op boundary assumed, no public measurement",
      "efficiency.attentionPeakFraction": "Derived: v5e-derived GEMM fraction 0.923 x (A100 FA2-fwd/GEMM ratio 0.73/0.869 = 0.84) = 0.775 for Pallas flash/splash attention; no published measurement, likely optimistic",
    },
  },

};
