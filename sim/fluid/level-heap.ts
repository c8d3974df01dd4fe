/** Min-heap of (level, id, version) on typed arrays, for progressive filling (solve.ts). */
export class LevelHeap {
  private level: Float64Array = new Float64Array(256);
  private id: Int32Array = new Int32Array(256);
  private ver: Int32Array = new Int32Array(256);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  topLevel(): number {
    return this.level[0] as number;
  }
  topId(): number {
    return this.id[0] as number;
  }
  topVersion(): number {
    return this.ver[0] as number;
  }

  push(level: number, id: number, version: number): void {
    if (this.size === this.level.length) {
      const n = this.size * 2;
      const l = new Float64Array(n);
      l.set(this.level);
      this.level = l;
      const i = new Int32Array(n);
      i.set(this.id);
      this.id = i;
      const v = new Int32Array(n);
      v.set(this.ver);
      this.ver = v;
    }
    let i = this.size++;
    const L = this.level;
    const I = this.id;
    const V = this.ver;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((L[p] as number) <= level) break;
      L[i] = L[p] as number;
      I[i] = I[p] as number;
      V[i] = V[p] as number;
      i = p;
    }
    L[i] = level;
    I[i] = id;
    V[i] = version;
  }

  pop(): void {
    const n = --this.size;
    if (n === 0) return;
    const L = this.level;
    const I = this.id;
    const V = this.ver;
    const level = L[n] as number;
    const id = I[n] as number;
    const ver = V[n] as number;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (L[r] as number) < (L[c] as number)) c = r;
      if (level <= (L[c] as number)) break;
      L[i] = L[c] as number;
      I[i] = I[c] as number;
      V[i] = V[c] as number;
      i = c;
    }
    L[i] = level;
    I[i] = id;
    V[i] = ver;
  }
}
