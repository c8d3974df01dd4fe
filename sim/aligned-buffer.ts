/**
 * Page-aligned memory for large typed-array arenas (perf P3): a WebAssembly memory
 * starts on a page, so 128-byte blocks in it are two cache lines each, as the arena's
 * arithmetic assumes (an ArrayBuffer's storage is only 16-byte aligned).
 *
 * Each WebAssembly memory reserves several GB of address space, so small buffers,
 * which sit in cache anyway, and many models created one after another (a sweep),
 * keep plain ArrayBuffers.
 */

/** Below this size a buffer is a plain ArrayBuffer. */
export const ALIGNED_MIN_BYTES = 1 << 20;

const WASM_PAGE_BYTES = 1 << 16;
/** A 32-bit WebAssembly memory holds at most 2^16 pages (4 GiB). */
const WASM_MAX_PAGES = 1 << 16;

/**
 * A zero-filled ArrayBuffer of at least `bytes` bytes, aligned to a page when it is
 * at least `minBytes` long (and the runtime can map one): views over it must give
 * their lengths, since it may be longer than asked.
 */
export function alignedBuffer(bytes: number, minBytes: number = ALIGNED_MIN_BYTES): ArrayBuffer {
  const pages = Math.ceil(bytes / WASM_PAGE_BYTES);
  if (bytes < minBytes || pages > WASM_MAX_PAGES || typeof WebAssembly === "undefined") return new ArrayBuffer(bytes);
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
  } catch {
    // Out of address space for another reservation: alignment is only a speed-up.
    return new ArrayBuffer(bytes);
  }
}

/** A zero-filled Float64Array of `length` numbers over an `alignedBuffer`. */
export function alignedFloat64(length: number): Float64Array {
  return new Float64Array(alignedBuffer(length * 8), 0, length);
}
