/**
 * A model from a local HuggingFace `config.json`: the keys decoder LLMs publish.
 * Pure: takes the parsed JSON, returns a ModelSpec or the list of problems.
 */
import type { ModelSpec } from "../scenario.ts";

export interface FieldProblem {
  /** Key inside config.json. */
  key: string;
  message: string;
}

type Json = Record<string, unknown>;

export function modelFromHfConfig(config: Json, name: string): { model?: ModelSpec; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const int = (key: string, fallback?: number): number => {
    const v = config[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      problems.push({ key, message: `${key}: ${JSON.stringify(v)} is not allowed; expected a positive integer` });
      return 1;
    }
    return v;
  };
  const hidden = int("hidden_size");
  const layers = int("num_hidden_layers");
  const heads = int("num_attention_heads");
  const kvHeads = int("num_key_value_heads", heads);
  const ffn = config["moe_intermediate_size"] !== undefined ? int("moe_intermediate_size") : int("intermediate_size");
  const vocab = int("vocab_size");
  const experts = config["num_local_experts"] !== undefined ? int("num_local_experts") : config["num_experts"] !== undefined ? int("num_experts") : 1;
  const topK = config["num_experts_per_tok"] !== undefined ? int("num_experts_per_tok") : 1;
  const act = String(config["hidden_act"] ?? config["activation_function"] ?? "silu");
  const gatedMlp = act === "silu" || act === "swiglu" || act === "geglu";
  const positions = config["rope_theta"] !== undefined || config["rotary_emb_base"] !== undefined ? 0 : Number(config["max_position_embeddings"] ?? config["n_positions"] ?? 0);
  if (kvHeads > heads || heads % kvHeads !== 0) {
    problems.push({ key: "num_key_value_heads", message: `num_key_value_heads: ${kvHeads} must divide num_attention_heads ${heads}` });
  }
  if (topK > experts) problems.push({ key: "num_experts_per_tok", message: `num_experts_per_tok: ${topK} exceeds the number of experts ${experts}` });
  const variants = attentionVariants(config, layers, problems);
  if (problems.length > 0) return { problems };
  return {
    problems,
    model: {
      name,
      layers,
      hidden,
      heads,
      kvHeads,
      ffn,
      vocab,
      gatedMlp,
      experts,
      topK,
      tiedEmbeddings: config["tie_word_embeddings"] === true,
      positionEmbeddings: positions,
      dropout: Number(config["attention_dropout"] ?? 0) > 0 || Number(config["hidden_dropout"] ?? 0) > 0,
      bias: config["attention_bias"] === true || config["mlp_bias"] === true,
      source: `HuggingFace config.json (${name})`,
      ...variants,
    },
  };
}

/**
 * MLA (DeepSeek-V2/V3: kv_lora_rank, q_lora_rank null or absent for none, qk_rope_head_dim,
 * qk_nope_head_dim, v_head_dim), the sliding window (sliding_window, unless
 * use_sliding_window is false as in Qwen2's configs; Gemma 3's sliding_window_pattern, or
 * layer_types whose "full_attention" entries recur with a fixed period), and multi-token
 * prediction (num_nextn_predict_layers). Null counts as absent.
 */
function attentionVariants(config: Json, layers: number, problems: FieldProblem[]): Partial<ModelSpec> {
  const out: Partial<ModelSpec> = {};
  const opt = (key: string, minimum: number): number | undefined => {
    const v = config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < minimum) {
      problems.push({ key, message: `${key}: ${JSON.stringify(v)} is not allowed; expected an integer of at least ${minimum}${minimum === 0 ? "" : " (or null)"}` });
      return undefined;
    }
    return v;
  };
  const kvLora = opt("kv_lora_rank", 1);
  if (kvLora !== undefined) {
    out.kvLoraRank = kvLora;
    const q = opt("q_lora_rank", 0);
    if (q !== undefined && q > 0) out.qLoraRank = q;
    const rope = opt("qk_rope_head_dim", 0);
    if (rope !== undefined) out.qkRopeHeadDim = rope;
    const nope = opt("qk_nope_head_dim", 1);
    if (nope !== undefined) out.qkNopeHeadDim = nope;
    const v = opt("v_head_dim", 1);
    if (v !== undefined) out.vHeadDim = v;
  }
  const window = opt("sliding_window", 1);
  if (window !== undefined && config["use_sliding_window"] !== false) {
    out.slidingWindow = window;
    // Gemma 2's early configs state no pattern: its modeling code alternates local and global layers.
    const pattern = opt("sliding_window_pattern", 1) ?? layerTypesPeriod(config, layers, problems) ?? (config["model_type"] === "gemma2" ? 2 : undefined);
    if (pattern !== undefined) out.slidingWindowPattern = pattern;
  }
  const mtp = opt("num_nextn_predict_layers", 0);
  if (mtp !== undefined && mtp > 0) out.mtpLayers = mtp;
  return out;
}

/** The period N of layer_types when layer i is "full_attention" exactly when (i+1) % N == 0; undefined if every layer slides. */
function layerTypesPeriod(config: Json, layers: number, problems: FieldProblem[]): number | undefined {
  const types = config["layer_types"];
  if (types === undefined || types === null) return undefined;
  const bad = (why: string): undefined => {
    problems.push({ key: "layer_types", message: `layer_types: ${why}` });
    return undefined;
  };
  if (!Array.isArray(types) || types.length !== layers || types.some((t) => t !== "sliding_attention" && t !== "full_attention")) {
    return bad(`expected ${layers} entries (num_hidden_layers), each "sliding_attention" or "full_attention"`);
  }
  const first = types.indexOf("full_attention");
  if (first < 0) return undefined;
  const period = first + 1;
  if (types.some((t, i) => (t === "full_attention") !== ((i + 1) % period === 0))) {
    return bad(`the full-attention layers do not recur every ${period} layers (the ${period}-th, ${2 * period}-th, …); trainsim's slidingWindowPattern needs a fixed period`);
  }
  return period;
}
