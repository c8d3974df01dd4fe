/**
 * Spans and counters for timelines, traces and power plots. Off unless asked:
 * a disabled recorder drops everything, so the fast path pays one branch.
 */

export interface Span {
  /** Row of a timeline: a rank, a link, a job. */
  track: string;
  name: string;
  category: string;
  start: number;
  end: number;
}

export interface CounterSample {
  name: string;
  time: number;
  value: number;
}

export class Recorder {
  readonly enabled: boolean;
  readonly spans: Span[] = [];
  readonly counters: CounterSample[] = [];
  /** Tracks to keep (all when undefined): a long run records a few representative ranks. */
  private readonly tracks: ReadonlySet<string> | undefined;

  constructor(options: { enabled: boolean; tracks?: Iterable<string> } = { enabled: false }) {
    this.enabled = options.enabled;
    this.tracks = options.tracks === undefined ? undefined : new Set(options.tracks);
  }

  wantsTrack(track: string): boolean {
    return this.enabled && (this.tracks === undefined || this.tracks.has(track));
  }

  span(track: string, name: string, category: string, start: number, end: number): void {
    if (!this.enabled || end < start) return;
    if (this.tracks !== undefined && !this.tracks.has(track)) return;
    this.spans.push({ track, name, category, start, end });
  }

  counter(name: string, time: number, value: number): void {
    if (!this.enabled) return;
    this.counters.push({ name, time, value });
  }
}
