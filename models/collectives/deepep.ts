/**
 * MoE dispatch and combine as DeepEP's normal (high-throughput) kernels run them: a token bound
 * for experts on another node crosses the network once per destination node, to the GPU of the
 * same local index there, which forwards it over NVLink to the GPUs holding its experts
 * (deepseek-ai/DeepEP README, V1 "normal kernels with NVLink and RDMA forwarding"; DeepSeek-V3
 * §3.2.2 describes the same node-level deduplication). NCCL's all-to-all instead sends every
 * expert copy to its GPU directly.
 *
 * Link rates: DeepEP's published kernel measurements on H800 (CX7 400 Gb/s, ~50 GB/s per NIC;
 * NVLink ~160 GB/s; 4096 tokens of 7168 hidden, top-8, FP8 dispatch / BF16 combine) reach
 * 153-158 GB/s on NVLink within a node and 43-58 GB/s of RDMA bottleneck bandwidth across 2-8
 * nodes: the links' plateaus, which the NCCL link efficiencies of alpha-beta.ts already stand for.
 *
 * Expert placement is taken as uniform (see distinctNodes), with DeepSeek's group-limited
 * routing where the model states it.
 */
import { NETWORK_STEP_SECONDS, sizeEfficiency, type GroupLayout, type LinkLoad } from "./alpha-beta.ts";

/** A token's routing as DeepEP sees it: topK copies, optionally limited to a few expert groups. */
export interface DeepepRouting {
  topK: number;
  /** Group-limited routing (HF n_group, topk_group): experts in `count` contiguous groups, a token uses `perToken` of them. */
  groups?: { count: number; perToken: number };
}

/**
 * Expected distinct nodes a token reaches: topK copies on uniformly placed experts,
 * nodes·(1 − (1 − 1/nodes)^topK); with group-limited routing and whole groups per node (count a
 * multiple of nodes) at most the nodes holding its `perToken` groups, drawn without
 * replacement: nodes·(1 − C(count − count/nodes, perToken)/C(count, perToken)). DeepSeek-V3 (8
 * groups, 4 per token) on 8 nodes: 4 nodes, its report's "at most 4 nodes".
 */
export function distinctNodes(nodes: number, routing: DeepepRouting): number {
  const byCopies = nodes * (1 - Math.pow(1 - 1 / nodes, routing.topK));
  const g = routing.groups;
  if (g === undefined || g.count % nodes !== 0 || g.perToken >= g.count) return byCopies;
  const others = g.count - g.count / nodes;
  // C(others, t) / C(count, t) as a running product.
  let missed = 1;
  for (let i = 0; i < g.perToken; i++) missed *= Math.max(0, others - i) / (g.count - i);
  return Math.min(byCopies, nodes * (1 - missed));
}

/**
 * Per-rank link load of one DeepEP dispatch (or combine) of `tokenBytes` per token set
 * (tokens × hidden × bytes) with `routing.topK` copies per token over the EP `group`.
 */
export function deepepLoad(tokenBytes: number, routing: DeepepRouting, group: GroupLayout): LinkLoad {
  const n = group.size;
  if (n <= 1) return { nvlinkBytes: 0, nicBytes: 0, hbmBytes: 0, sizeEfficiency: 1, latencySeconds: 0 };
  const k = Math.max(1, Math.min(group.perNode, n));
  const nodes = Math.ceil(n / k);
  const topK = routing.topK;
  // One network send per distinct remote node of a token: by symmetry (nodes − 1)/nodes of the distinct nodes it reaches.
  const remoteNodes = (distinctNodes(nodes, routing) * (nodes - 1)) / nodes;
  const nicBytes = tokenBytes * remoteNodes;
  // Every copy for a GPU other than the one it lands on crosses NVLink once (directly within the
  // sender's node, forwarded by the receiving GPU on a remote node).
  const nvlinkBytes = (tokenBytes * topK * (k - 1)) / k;
  const volume = nicBytes + nvlinkBytes;
  return {
    nvlinkBytes,
    nicBytes,
    hbmBytes: 2 * volume,
    sizeEfficiency: sizeEfficiency(tokenBytes * topK),
    latencySeconds: nodes > 1 ? 2 * NETWORK_STEP_SECONDS : 0,
  };
}
