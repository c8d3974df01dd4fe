/**
 * The scenario's `data:` section, validated by the schema, turned into the DataSpec the
 * physics runs on: the storage tier resolved from its preset, stored and device bytes per
 * sample from the data kind and the model, and the defaults that depend on other keys.
 */
import { STORAGE_PRESETS } from "../models/data/storage.ts";
import { tokenBytes } from "../models/data/demand.ts";
import type { DataKind, DataSpec, EpochBoundary, LoaderPlacement, StorageTier } from "../models/data/types.ts";
import { isPlainObject, showValue, type Problems, type Tagged } from "./schema.ts";

type Raw = Record<string, unknown>;

/** Bytes per request when streaming shards: a typical byte-range GET (8 or 16 MB, Amazon S3 performance guidelines). */
export const STREAM_READ_BYTES = 8e6;

const num = (o: Raw, key: string): number | undefined => (typeof o[key] === "number" ? (o[key] as number) : undefined);

function tierFields(o: Raw): Partial<StorageTier> {
  const out: Partial<StorageTier> = {};
  for (const key of ["readBandwidth", "clientBandwidth", "requestsPerSecond", "requestLatency"] as const) {
    const v = num(o, key);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function storageFrom(tagged: unknown): StorageTier | undefined {
  if (typeof tagged !== "object" || tagged === null) return undefined;
  const { option, value } = tagged as Tagged;
  if (option === "preset") return STORAGE_PRESETS[value as string];
  if (!isPlainObject(value)) return undefined;
  if (option === "override") {
    const base = STORAGE_PRESETS[value["base"] as string];
    if (base === undefined) return undefined;
    return { ...base, ...tierFields(value), name: `${base.name}*`, source: `${base.source}; fields changed in the scenario` };
  }
  return { name: "inline", requestLatency: 0, ...tierFields(value), source: "the scenario" };
}

/**
 * `raw` is the validated section (units converted); `written` the same as the file wrote it,
 * for error messages. Returns undefined when a problem was reported.
 */
export function dataFrom(raw: Raw, written: Raw, ctx: { seqLength: number; vocab: number; globalBatch: number; nicBandwidth: number; nodeStorageBandwidth?: number }, problems: Problems): DataSpec | undefined {
  const storage = storageFrom(raw["storage"]);
  const kind = (raw["kind"] as DataKind | undefined) ?? "text";
  let bytesPerSample: number;
  let decode = num(raw, "decodeCoreSeconds");
  if (kind === "text") {
    bytesPerSample = ctx.seqLength * (num(raw, "bytesPerToken") ?? tokenBytes(ctx.vocab));
    decode ??= 0;
  } else {
    const perItem = num(raw, "bytesPerItem");
    if (perItem === undefined) problems.invalid("data.bytesPerItem", written["bytesPerItem"], `${showValue(written["bytesPerItem"])} is not allowed with data.kind ${kind}; expected the stored bytes of one ${kind === "image" ? "image" : kind === "video" ? "frame" : "clip"}, e.g. "110 kB"`);
    if (decode === undefined) problems.invalid("data.decodeCoreSeconds", written["decodeCoreSeconds"], `${showValue(written["decodeCoreSeconds"])} is not allowed with data.kind ${kind}; expected the CPU core-seconds to decode and augment one sample, e.g. "5 ms" (trainsim has no sourced default for ${kind})`);
    if (raw["bytesPerToken"] !== undefined) problems.invalid("data.bytesPerToken", written["bytesPerToken"], `${showValue(written["bytesPerToken"])} is not allowed with data.kind ${kind}; bytesPerToken is for kind text (use bytesPerItem)`);
    bytesPerSample = (num(raw, "itemsPerSample") ?? 1) * (perItem ?? 0);
  }
  const datasetSamples = num(raw, "datasetSamples");
  if (datasetSamples !== undefined && datasetSamples < ctx.globalBatch) problems.invalid("data.datasetSamples", written["datasetSamples"], `${showValue(written["datasetSamples"])} is not allowed; an epoch must hold at least one global batch: expected an integer of at least workload.globalBatch (${ctx.globalBatch})`);
  for (const key of ["epochBoundary", "cacheWarmsAfterFirstEpoch"] as const) {
    if (datasetSamples === undefined && written[key] !== undefined) problems.invalid(`data.${key}`, written[key], `${showValue(written[key])} is not allowed without data.datasetSamples; set the samples in one epoch, or remove data.${key}`);
  }
  if (datasetSamples !== undefined && datasetSamples < ctx.globalBatch) return undefined;
  if (storage === undefined || decode === undefined || (kind !== "text" && num(raw, "bytesPerItem") === undefined)) return undefined;
  const cpu = num(raw, "cpuCoresPerNode");
  const cacheBandwidth = num(raw, "cacheBandwidth");
  return {
    storage,
    kind,
    bytesPerSample,
    deviceBytesPerSample: num(raw, "deviceBytesPerSample") ?? bytesPerSample,
    decodeCoreSeconds: decode,
    workers: num(raw, "workers") ?? 2,
    ...(cpu !== undefined ? { cpuCoresPerNode: cpu } : {}),
    prefetch: num(raw, "prefetch") ?? 2,
    // Streaming: a typical byte-range GET, 8 MB (Amazon S3 performance guidelines, "Use byte-range fetches": 8 or 16 MB).
    readSize: num(raw, "readSize") ?? (raw["shuffle"] === false ? STREAM_READ_BYTES : bytesPerSample),
    readsInFlight: num(raw, "readsInFlight") ?? 1,
    nodeStorageBandwidth: num(raw, "nodeStorageBandwidth") ?? ctx.nodeStorageBandwidth ?? 2 * ctx.nicBandwidth,
    cacheHitRate: num(raw, "cacheHitRate") ?? 0,
    ...(cacheBandwidth !== undefined ? { cacheBandwidth } : {}),
    sharedWithCheckpoints: raw["sharedWithCheckpoints"] === true,
    loaders: (raw["loaders"] as LoaderPlacement | undefined) ?? "replica",
    ...(written["shuffle"] !== undefined ? { shuffle: raw["shuffle"] === true } : {}),
    ...(datasetSamples !== undefined ? { datasetSamples, epochBoundary: (raw["epochBoundary"] as EpochBoundary | undefined) ?? "restart", cacheWarmsAfterFirstEpoch: raw["cacheWarmsAfterFirstEpoch"] === true } : {}),
  };
}
