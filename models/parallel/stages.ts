/**
 * How layers map onto pipeline ranks and virtual stages.
 *
 * Virtual stage v (0 ≤ v < pp·virtualStages) lives on rank v mod pp as its
 * chunk ⌊v / pp⌋ (Megatron-LM's interleaved assignment). The first virtual
 * stage holds the embedding, the last the output layer and loss.
 */
import type { ParallelPlan } from "../scenario.ts";

export function virtualStageCount(p: ParallelPlan): number {
  return p.pp * p.virtualStages;
}

/** Layers of each virtual stage, or a reason the split is impossible. */
export function layersPerVirtualStage(layers: number, p: ParallelPlan): number[] | string {
  const V = virtualStageCount(p);
  const first = p.firstStageLayers;
  const last = p.lastStageLayers;
  if (first === undefined && last === undefined) {
    if (layers % V !== 0) return `pp·virtualStages = ${p.pp}·${p.virtualStages} = ${V} does not divide ${layers} layers (set parallelism.firstStageLayers / lastStageLayers for an uneven split)`;
    return new Array<number>(V).fill(layers / V);
  }
  if (V === 1) return "firstStageLayers / lastStageLayers need more than one pipeline stage";
  const ends = (first ?? 0) + (last ?? 0);
  const middle = V - (first !== undefined ? 1 : 0) - (last !== undefined ? 1 : 0);
  const rest = layers - ends;
  if (rest < 0 || (middle === 0 && rest !== 0) || (middle > 0 && rest % middle !== 0)) {
    return `${layers} layers minus firstStageLayers/lastStageLayers (${ends}) cannot be split evenly over the other ${middle} virtual stages`;
  }
  const each = middle > 0 ? rest / middle : 0;
  const out = new Array<number>(V).fill(each);
  if (first !== undefined) out[0] = first;
  if (last !== undefined) out[V - 1] = last;
  return out;
}

export function rankOfVirtualStage(v: number, pp: number): number {
  return v % pp;
}

export function chunkOfVirtualStage(v: number, pp: number): number {
  return Math.floor(v / pp);
}
