/**
 * Megablox's grouped matmul on TPU (jax.experimental.pallas.ops.tpu.megablox gmm and tgmm, which
 * MaxText runs with megablox and sparse_matmul): the rows of all local experts are one sorted
 * array cut into m tiles of `tileRows` (MaxText tile_batch_seq). A tile whose rows belong to two
 * experts is computed in full once for each (make_group_metadata in megablox/gmm.py: a group
 * starting inside a tile adds one tile visit, so tiles_m ≤ visits ≤ tiles_m + groups − 1; an empty
 * group is visited once too). With counts whose residues are spread, every group but the first
 * starts inside a tile: (groups − 1) extra tiles, `tileRows`·(groups − 1)/groups extra rows per
 * expert, in the forward gmm and in the backward's gmm (input gradient) and tgmm (weight gradient).
 */
import type { CoreSplit } from "../compute/gemm-efficiency.ts";
import type { QuantPadding } from "./moe-padding.ts";

/** Rows each local expert's grouped GEMMs gain from megablox's shared tiles. */
export function megabloxExtraRows(tileRows: number, localExperts: number): number {
  if (localExperts <= 1) return 0;
  return (tileRows * (localExperts - 1)) / localExperts;
}

/**
 * The padding record of a layer whose experts run megablox with m tiles of `tileRows`, added to `base`
 * (FP8 alignment, if any); with n tiles of `tileCols` on a chip of `cores` megacore TensorCores, the
 * split of each grouped matmul's column tiles between them (gmm's grid is (tiles_n, m visits, tiles_k),
 * tgmm's (tiles_n, tiles_k, m visits), both with dimension_semantics ("parallel", "arbitrary", "arbitrary")).
 */
export function withMegabloxTiles(base: QuantPadding, tileRows: number | undefined, localExperts: number, tileCols?: number, cores = 1): QuantPadding {
  if (tileRows === undefined) return base;
  const rows = megabloxExtraRows(tileRows, localExperts);
  const split = tileCols !== undefined && cores > 1 ? { coreSplit: { cores, tileCols } } : {};
  if (rows === 0 && split.coreSplit === undefined) return base;
  return { ...base, expertRows: base.expertRows + rows, ...split };
}

/**
 * The core split of one expert GEMM as megablox runs it: the output's column tiles of each separate
 * call. MaxText calls gmm once for the gate and once for the up projection (wi_0, wi_1), so the fused
 * fc1 and its weight gradient are `gate` kernels' columns; fc1's input gradient (hidden columns), fc2
 * and its gradients one kernel's. Undefined without a split.
 */
export function expertCoreSplit(pad: QuantPadding, name: string, gate: number): CoreSplit | undefined {
  if (pad.coreSplit === undefined) return undefined;
  const fused = name === "expert.fc1" || name === "expert.fc1.wgrad";
  return { ...pad.coreSplit, colBlocks: fused ? gate : 1 };
}
