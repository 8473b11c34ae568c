import { Context, type Effect } from "effect"
import type { RateLimitedError } from "../src/domain/Errors.ts"

/** A token bucket: `burst` tokens at most, refilled at `perSecond`. */
export interface RatePolicy {
  readonly name: string
  readonly burst: number
  readonly perSecond: number
}

/** In-process token buckets keyed by (policy, key); bounded memory; time from Clock. */
export class RateLimiter extends Context.Tag("casecore/RateLimiter")<
  RateLimiter,
  {
    /** Take one token, or fail RATE_LIMITED with the seconds until one is available. */
    readonly consume: (policy: RatePolicy, key: string) => Effect.Effect<void, RateLimitedError>
    /** Fail RATE_LIMITED when the bucket is empty, without taking a token (check before costly work). */
    readonly check: (policy: RatePolicy, key: string) => Effect.Effect<void, RateLimitedError>
    /** Forget a key (e.g. the per-account failure bucket after a successful login). */
    readonly reset: (policy: RatePolicy, key: string) => Effect.Effect<void>
  }
>() {}
