/** Latencies as the load loops record them (bench/http/load.ts, bench/auth.ts), and their quantiles. */

/** Latencies in fixed chunks of doubles: no big array to regrow and copy while the load runs. */
export class Recorder {
  private readonly full: Array<Float64Array> = []
  private chunk = new Float64Array(1 << 16)
  private used = 0
  count = 0

  push(ms: number) {
    if (this.used === this.chunk.length) {
      this.full.push(this.chunk)
      this.chunk = new Float64Array(1 << 16)
      this.used = 0
    }
    this.chunk[this.used++] = ms
    this.count++
  }

  sorted() {
    const all = new Float64Array(this.count)
    let offset = 0
    for (const chunk of this.full) {
      all.set(chunk, offset)
      offset += chunk.length
    }
    all.set(this.chunk.subarray(0, this.used), offset)
    return all.sort()
  }
}

/** The q-quantile (nearest rank) of sorted latencies; NaN when there are none. */
export const quantile = (sorted: Float64Array, q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
