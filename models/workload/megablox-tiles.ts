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
import type { QuantPadding } from "./moe-padding.ts";

/** Rows each local expert's grouped GEMMs gain from megablox's shared tiles. */
export function megabloxExtraRows(tileRows: number, localExperts: number): number {
  if (localExperts <= 1) return 0;
  return (tileRows * (localExperts - 1)) / localExperts;
}

/** The padding record of a layer whose experts run megablox with m tiles of `tileRows`, added to `base` (FP8 alignment, if any). */
export function withMegabloxTiles(base: QuantPadding, tileRows: number | undefined, localExperts: number): QuantPadding {
  if (tileRows === undefined) return base;
  const rows = megabloxExtraRows(tileRows, localExperts);
  if (rows === 0) return base;
  return { ...base, expertRows: base.expertRows + rows };
}
