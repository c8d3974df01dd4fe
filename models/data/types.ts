/**
 * The input pipeline of a training job, as the scenario's `data:` section states it
 * (docs/data.md): where samples are stored, how big they are, what it costs to decode
 * them, how many CPU workers and how deep a prefetch queue each loader has. Plain data
 * in SI units; the loader in experiments/ fills every default.
 */

export const DATA_KINDS = ["text", "image", "video", "audio"] as const;
export type DataKind = (typeof DATA_KINDS)[number];

/** Which ranks run a data loader. */
export const LOADER_PLACEMENTS = ["replica", "every-gpu"] as const;
export type LoaderPlacement = (typeof LOADER_PLACEMENTS)[number];

/** What a loader does at an epoch boundary: restart, a new DataLoader iterator whose queue starts empty (PyTorch); continuous, a sampler that runs across epochs (Megatron-LM). */
export const EPOCH_BOUNDARIES = ["restart", "continuous"] as const;
export type EpochBoundary = (typeof EPOCH_BOUNDARIES)[number];

/** A storage system the samples are read from: its published read figures. */
export interface StorageTier {
  name: string;
  /** Aggregate read bandwidth of the whole tier, bytes/s (absent: only the clients limit). */
  readBandwidth?: number;
  /** Read bandwidth one client node can draw from the tier, bytes/s (absent: only the node's storage NICs limit). */
  clientBandwidth?: number;
  /** Read requests per second the whole tier serves (absent: unlimited). */
  requestsPerSecond?: number;
  /** From issuing a read to its first byte, seconds: with a bounded number of reads in flight it caps a client's request rate. */
  requestLatency: number;
  /** Where the figures come from. */
  source: string;
}

export interface DataSpec {
  storage: StorageTier;
  kind: DataKind;
  /** Bytes read from storage per sample (one sequence of seqLength tokens, or its images, frames or audio). */
  bytesPerSample: number;
  /** Bytes per sample copied host to device after decoding (decoded pixels are larger than JPEG). */
  deviceBytesPerSample: number;
  /** CPU core-seconds per sample to decode, tokenize and augment. */
  decodeCoreSeconds: number;
  /** CPU worker processes per loader (PyTorch DataLoader num_workers); 0: the training process loads inline. */
  workers: number;
  /** CPU cores per node the loaders may use together (absent: only each loader's workers limit). */
  cpuCoresPerNode?: number;
  /** Batches each loader keeps ready ahead of the step (0: loading is synchronous with training). */
  prefetch: number;
  /** Bytes per read request (a file, a record, or a ranged read). */
  readSize: number;
  /** Read requests each worker keeps in flight. */
  readsInFlight: number;
  /** Bandwidth from each node to storage (frontend NICs), bytes/s. */
  nodeStorageBandwidth: number;
  /** Share of reads served from the node's cache (0: a cold first epoch; 1: the dataset fits in the cache). */
  cacheHitRate: number;
  /** Read bandwidth of a node's local cache (NVMe), bytes/s (absent: host memory, not a limit). */
  cacheBandwidth?: number;
  /** Asynchronous checkpoint writes (reliability) go to this same storage tier and share its time with the reads. */
  sharedWithCheckpoints: boolean;
  /** replica: one loader per data-parallel replica (first pipeline stage, first tensor rank; Megatron); every-gpu: one per GPU. */
  loaders: LoaderPlacement;
  /** Samples in one epoch (absent: steady state only, no epoch boundaries). */
  datasetSamples?: number;
  /** What happens at an epoch boundary (default restart). */
  epochBoundary?: EpochBoundary;
  /** With datasetSamples: the first epoch reads everything from storage; later epochs hit the cache at cacheHitRate. */
  cacheWarmsAfterFirstEpoch?: boolean;
  /** false: samples streamed in storage order from large shards, a request of readSize covering several samples (absent or true: random order, whole requests per sample). */
  shuffle?: boolean;
}

/** What can bind the input path, as results name it. */
export const DATA_BOTTLENECKS = ["storage", "storage-requests", "storage-client", "storage-nic", "node-cpu", "cache", "workers", "request-latency", "pcie", "none"] as const;
export type DataBottleneck = (typeof DATA_BOTTLENECKS)[number];

/** What `--json` reports under `data` (docs/results.md). */
export interface DataStepResult {
  /** Seconds one step's batch takes through the slowest loader's path. */
  loaderSecondsPerStep: number;
  /** Seconds per step the GPUs wait on their prefetch queues (the `data` category). */
  stallSecondsPerStep: number;
  /** Step time without the input path, seconds. */
  computeStepSeconds: number;
  bottleneck: DataBottleneck;
  loaders: number;
  samplesPerLoaderPerStep: number;
  /** Bytes the whole job reads from storage per step, and per second at the resulting step time. */
  storageBytesPerStep: number;
  storageBytesPerSecond: number;
  /** With data.datasetSamples: epoch boundaries and, with cacheWarmsAfterFirstEpoch, the cold first epoch (docs/data.md). */
  epoch?: DataEpochResult;
  /**
   * With sharedWithCheckpoints and asynchronous checkpoints: the same while a checkpoint is
   * written to the tier beside the reads. A long run charges it (longRun.checkpointWrite).
   */
  duringCheckpoint?: {
    /** The write alone at the tier's write bandwidth, and beside the reads. */
    writeAloneSeconds: number;
    writeSeconds: number;
    loaderSecondsPerStep: number;
    stallSecondsPerStep: number;
    /** Training time one checkpoint adds by slowing the steps during its write. */
    addedSecondsPerCheckpoint: number;
  };
}

/** Epoch boundaries, per epoch of `stepsPerEpoch` steps (docs/results.md, `data.epoch`). */
export interface DataEpochResult {
  stepsPerEpoch: number;
  boundary: EpochBoundary;
  /** Extra wait at an epoch's first step beyond the steady stall (0 for continuous). */
  boundaryWaitSeconds: number;
  /** The same spread over the epoch's steps (included in stallSecondsPerStep). */
  boundaryStallSecondsPerStep: number;
  /** With cacheWarmsAfterFirstEpoch: the first, cold epoch (everything read from storage). */
  firstEpoch?: {
    loaderSecondsPerStep: number;
    boundaryWaitSeconds: number;
    stallSecondsPerStep: number;
    stepSeconds: number;
    storageBytesPerStep: number;
    /** Training time the cold first epoch adds over a warm one: stepsPerEpoch × (its stall − a later epoch's). Reported; a long run does not charge it. */
    addedSeconds: number;
  };
}
