import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { megabloxExtraRows, withMegabloxTiles } from "../../models/workload/megablox-tiles.ts";
import { NO_PADDING } from "../../models/workload/moe-padding.ts";

describe("Megablox's shared m tiles (workload.moe.gmmTileRows)", () => {
  it("each expert but the first starts inside a tile: tileRows·(experts − 1)/experts rows more per expert", () => {
    // DeepSeek-V3 on TPU, no expert parallelism: 256 local experts, tile_batch_seq 512 -> 255 extra tiles of 512 rows.
    expect(megabloxExtraRows(512, 256)).toBe(510);
    expect(megabloxExtraRows(512, 256) * 256).toBe(255 * 512);
    // Mixtral: 8 experts -> 7 extra tiles.
    expect(megabloxExtraRows(512, 8)).toBe(448);
    expect(megabloxExtraRows(512, 1)).toBe(0);
    expect(withMegabloxTiles(NO_PADDING, undefined, 8)).toBe(NO_PADDING);
    expect(withMegabloxTiles({ routerCopies: 0, expertRows: 7.5, copies: true }, 512, 8)).toEqual({ routerCopies: 0, expertRows: 455.5, copies: true });
  });

  it("the experts' grouped GEMMs gain the rows; stated by the loader", () => {
    const load = (moe: Record<string, unknown> | undefined) =>
      scenarioFromObject(
        { cluster: { gpu: "TPU-v5p", gpusPerNode: 4, nodes: 32, network: { topology: "torus" } }, workload: { model: "mixtral-8x7b", seqLength: 4096, globalBatch: 128, ...(moe !== undefined ? { moe } : {}) }, parallelism: { dp: 128, microBatch: 1 } },
        { baseDir: ".", name: "t" },
      );
    const plain = load(undefined);
    const tiled = load({ gmmTileRows: 512 });
    expect(tiled.workload.moe?.gmmTileRows).toBe(512);
    const fc1 = (s: typeof plain) => layerForwardKernels(layerShape(s)).kernels.find((k) => k.name === "expert.fc1")!;
    // One sequence of 4096 tokens, top-2 of 8 experts: 1024 rows per expert, 448 more with the shared tiles.
    expect(fc1(plain).gemm?.m).toBe(1024);
    expect(fc1(tiled).gemm?.m).toBe(1024 + 448);
    expect(fc1(tiled).flops / fc1(plain).flops).toBeCloseTo(1472 / 1024, 9);
  });
});
