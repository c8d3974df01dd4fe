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
    },
  };
}
