import { Clock, Config, Effect, Layer } from "effect"
import { RateLimitedError } from "../src/domain/Errors.ts"
import { RateLimiter, type RatePolicy } from "../services/RateLimiter.ts"

interface Bucket {
  tokens: number
  updatedAt: number
  readonly burst: number
  readonly perSecond: number
}

/** Absorbs float error so that waiting the advertised Retry-After always yields a whole token. */
const epsilon = 1e-9

const maxKeysConfig = Config.integer("RATE_LIMIT_MAX_KEYS").pipe(
  Config.withDefault(100_000),
  Config.validate({ message: "expected at least 1", validation: (n) => n >= 1 })
)

const refill = (bucket: Bucket, now: number) => {
  const elapsed = Math.max(0, now - bucket.updatedAt) / 1000
  bucket.tokens = Math.min(bucket.burst, bucket.tokens + elapsed * bucket.perSecond)
  bucket.updatedAt = now
}

const limited = (bucket: Bucket) => {
  const seconds = Math.ceil((1 - bucket.tokens) / bucket.perSecond - epsilon)
  return new RateLimitedError({ message: "too many requests", retryAfterSeconds: Math.max(1, seconds) })
}

export const RateLimiterLive: Layer.Layer<RateLimiter> = Layer.effect(
  RateLimiter,
  Effect.gen(function* () {
    const maxKeys = yield* Effect.orDie(maxKeysConfig)
    // Evicting a tenth at once keeps the O(n) sweep for full buckets amortised when an attacker churns keys.
    const lowWatermark = maxKeys - Math.max(1, Math.floor(maxKeys / 10))
    const buckets = new Map<string, Bucket>()

    const makeRoom = (now: number) => {
      for (const [id, bucket] of buckets) {
        refill(bucket, now)
        if (bucket.tokens >= bucket.burst) buckets.delete(id)
      }
      for (const id of buckets.keys()) {
        if (buckets.size <= lowWatermark) break
        buckets.delete(id)
      }
    }

    const current = (id: string, policy: RatePolicy, now: number) => {
      const bucket = buckets.get(id)
      if (bucket === undefined) return { tokens: policy.burst, updatedAt: now, burst: policy.burst, perSecond: policy.perSecond }
      refill(bucket, now)
      return bucket
    }

    const consume = (policy: RatePolicy, key: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const id = `${policy.name}:${key}`
        const bucket = current(id, policy, now)
        // Re-insertion keeps the Map in least-recently-touched order; a rejected attempt counts as a touch
        // so that a key under attack is never the one evicted (which would hand it a fresh burst).
        if (!buckets.delete(id) && buckets.size >= maxKeys) makeRoom(now)
        buckets.set(id, bucket)
        if (bucket.tokens + epsilon < 1) return Effect.fail(limited(bucket))
        bucket.tokens = Math.max(0, bucket.tokens - 1)
        return Effect.void
      })

    const check = (policy: RatePolicy, key: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const bucket = current(`${policy.name}:${key}`, policy, now)
        return bucket.tokens + epsilon < 1 ? Effect.fail(limited(bucket)) : Effect.void
      })

    const reset = (policy: RatePolicy, key: string) =>
      Effect.sync(() => {
        buckets.delete(`${policy.name}:${key}`)
      })

    return RateLimiter.of({ consume, check, reset })
  })
)
