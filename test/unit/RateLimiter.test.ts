import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, TestClock } from "effect"
import { RateLimiterLive } from "../../layers/RateLimiterLive.ts"
import { RateLimiter, type RatePolicy } from "../../services/RateLimiter.ts"

const login: RatePolicy = { name: "login", burst: 10, perSecond: 10 / 900 }
const single: RatePolicy = { name: "single", burst: 1, perSecond: 1 / 60 }
const fast: RatePolicy = { name: "fast", burst: 1, perSecond: 1 }

const withMaxKeys = (maxKeys: number) =>
  RateLimiterLive.pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["RATE_LIMIT_MAX_KEYS", String(maxKeys)]]))))
  )

const consumeTimes = (policy: RatePolicy, key: string, times: number) =>
  Effect.flatMap(RateLimiter, (limiter) => Effect.repeatN(limiter.consume(policy, key), times - 1))

const retryAfter = (effect: Effect.Effect<void, { readonly retryAfterSeconds: number }>) =>
  Effect.map(Effect.flip(effect), (error) => error.retryAfterSeconds)

describe("RateLimiter", () => {
  it.effect("lets the burst through and rejects the next request with the seconds until a token", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* consumeTimes(login, "alice", 10)
      const error = yield* Effect.flip(limiter.consume(login, "alice"))
      assert.strictEqual(error._tag, "RateLimitedError")
      assert.strictEqual(error.code, "RATE_LIMITED")
      assert.strictEqual(error.message, "too many requests")
      assert.strictEqual(error.retryAfterSeconds, 90)
    }).pipe(Effect.provide(RateLimiterLive)))

  it.effect("counts Retry-After down as the bucket refills", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* consumeTimes(login, "alice", 10)
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(yield* retryAfter(limiter.consume(login, "alice")), 60)
      yield* TestClock.adjust("59500 millis")
      assert.strictEqual(yield* retryAfter(limiter.consume(login, "alice")), 1)
    }).pipe(Effect.provide(RateLimiterLive)))

  it.effect("admits exactly one more request once one token has refilled", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* consumeTimes(login, "alice", 10)
      yield* TestClock.adjust("90 seconds")
      yield* limiter.consume(login, "alice")
      assert.strictEqual(yield* retryAfter(limiter.consume(login, "alice")), 90)
    }).pipe(Effect.provide(RateLimiterLive)))

  it.effect("refills no further than the burst", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* consumeTimes(login, "alice", 10)
      yield* TestClock.adjust("1 day")
      yield* consumeTimes(login, "alice", 10)
      assert.strictEqual(yield* retryAfter(limiter.consume(login, "alice")), 90)
    }).pipe(Effect.provide(RateLimiterLive)))

  it.effect("keeps keys and policies independent", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* consumeTimes(login, "alice", 10)
      yield* consumeTimes(login, "bob", 10)
      yield* limiter.consume({ ...login, name: "signup" }, "alice")
      assert.strictEqual(yield* retryAfter(limiter.consume(login, "alice")), 90)
    }).pipe(Effect.provide(RateLimiterLive)))

  it.effect("check rejects an empty bucket without taking a token", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* Effect.repeatN(limiter.check(single, "alice"), 4)
      yield* limiter.consume(single, "alice")
      assert.strictEqual(yield* retryAfter(limiter.check(single, "alice")), 60)
      yield* TestClock.adjust("60 seconds")
      yield* Effect.repeatN(limiter.check(single, "alice"), 4)
      yield* limiter.consume(single, "alice")
    }).pipe(Effect.provide(RateLimiterLive)))

  it.effect("reset restores a full bucket", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* consumeTimes(login, "alice", 10)
      yield* limiter.reset(login, "alice")
      yield* consumeTimes(login, "alice", 10)
      assert.strictEqual(yield* retryAfter(limiter.consume(login, "alice")), 90)
    }).pipe(Effect.provide(RateLimiterLive)))

  it.effect("at the key bound evicts the oldest-touched bucket", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* limiter.consume(single, "a")
      yield* limiter.consume(single, "b")
      yield* Effect.flip(limiter.consume(single, "a"))
      yield* limiter.consume(single, "c")
      assert.strictEqual(yield* retryAfter(limiter.check(single, "a")), 60)
      assert.strictEqual(yield* retryAfter(limiter.check(single, "c")), 60)
      yield* limiter.check(single, "b")
    }).pipe(Effect.provide(withMaxKeys(2))))

  it.effect("at the key bound drops refilled buckets before evicting live ones", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* limiter.consume(single, "a")
      yield* limiter.consume(fast, "b")
      yield* TestClock.adjust("1 second")
      yield* limiter.consume(single, "c")
      assert.strictEqual(yield* retryAfter(limiter.check(single, "a")), 59)
      assert.strictEqual(yield* retryAfter(limiter.check(single, "c")), 60)
    }).pipe(Effect.provide(withMaxKeys(2))))
})
