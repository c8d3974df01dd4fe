// Issue 24: every HuggingFace config.json field the loader uses is checked before use.
import { describe, expect, it } from "vitest";
import { modelFromHfConfig } from "../../models/workload/hf-config.ts";

const GOOD = { hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 14336, vocab_size: 128256, max_position_embeddings: 8192, hidden_act: "silu" };

function messages(extra: Record<string, unknown>): string[] {
  const { model, problems } = modelFromHfConfig({ ...GOOD, ...extra }, "m");
  if (problems.length > 0) expect(model).toBeUndefined();
  return problems.map((p) => p.message);
}

describe("modelFromHfConfig checks each field it uses", () => {
  it("a valid config gives the model, learned positions only without a rotary base", () => {
    const { model, problems } = modelFromHfConfig(GOOD, "m");
    expect(problems).toEqual([]);
    expect(model).toMatchObject({ layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 128256, gatedMlp: true, positionEmbeddings: 8192, tiedEmbeddings: false, dropout: false, bias: false });
    expect(modelFromHfConfig({ ...GOOD, rope_theta: 500000 }, "m").model?.positionEmbeddings).toBe(0);
  });

  it("max_position_embeddings must be an integer >= 0 (\"lots\" was NaN GiB)", () => {
    expect(messages({ max_position_embeddings: "lots" })).toEqual(['max_position_embeddings: "lots" is not allowed; expected an integer >= 0']);
    expect(messages({ max_position_embeddings: 1.5 })).toEqual(["max_position_embeddings: 1.5 is not allowed; expected an integer >= 0"]);
    expect(messages({ max_position_embeddings: undefined, n_positions: -1 })).toEqual(["n_positions: -1 is not allowed; expected an integer >= 0"]);
  });

  it("1e400 (Infinity once parsed) is shown as Infinity, not null", () => {
    expect(messages({ hidden_size: JSON.parse("1e400") as number })).toEqual(["hidden_size: Infinity is not allowed; expected a positive integer"]);
    expect(messages({ vocab_size: 2 ** 60 })).toEqual([`vocab_size: ${2 ** 60} is not allowed; expected a positive integer`]);
  });

  it("hidden_act must be a known activation name (an object was a TypeError)", () => {
    const [m] = messages({ hidden_act: { a: 1 } });
    expect(m).toMatch(/^hidden_act: \{"a":1\} is not allowed; expected one of "gelu", .*"silu"/);
    expect(messages({ hidden_act: undefined, activation_function: "banana" })[0]).toMatch(/^activation_function: "banana" is not allowed; expected one of /);
    expect(modelFromHfConfig({ ...GOOD, hidden_act: "gelu_new" }, "m").model?.gatedMlp).toBe(false);
  });

  it("booleans, dropouts and the rotary base are checked too", () => {
    expect(messages({ tie_word_embeddings: "yes" })).toEqual(['tie_word_embeddings: "yes" is not allowed; expected true or false']);
    expect(messages({ attention_bias: 1 })).toEqual(["attention_bias: 1 is not allowed; expected true or false"]);
    expect(messages({ attention_dropout: 2 })).toEqual(["attention_dropout: 2 is not allowed; expected a number from 0 to 1"]);
    expect(messages({ rope_theta: "big" })).toEqual(['rope_theta: "big" is not allowed; expected a positive number (the rotary base)']);
    expect(messages({ num_experts: 8, num_experts_per_tok: 2.5 })).toEqual(["num_experts_per_tok: 2.5 is not allowed; expected a positive integer"]);
  });
});
