/**
 * Page-aligned memory for large typed-array arenas.
 *
 * An ArrayBuffer's storage comes from malloc, which aligns it to 16 bytes: a
 * large one is mmapped with a 16-byte header in front, so its blocks of 128 bytes
 * that were meant to be two cache lines each straddle three. When the arena is
 * larger than the caches, every line is a miss, and a third of them were paid for
 * nothing. A WebAssembly memory is mapped on its own and starts on a page, so
 * offsets in it are aligned as they are in the arena's arithmetic.
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
