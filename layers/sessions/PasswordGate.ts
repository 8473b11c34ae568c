import { Effect, Option } from "effect"
import { RateLimitedError } from "../../src/domain/Errors.ts"
import type { SessionsConfig } from "./SessionsConfig.ts"

/**
 * Argon2 is the costly part of a login (19 MiB and tens of ms of a core each): at most
 * PASSWORD_CHECKS_AT_ONCE run at once in the process, PASSWORD_CHECKS_PER_ADDRESS of them for one client
 * address, so one address cannot take every slot; a check that cannot start within PASSWORD_CHECK_WAIT
 * is refused RATE_LIMITED.
 */
export const makePasswordGate = (config: SessionsConfig) =>
  Effect.gen(function* () {
    const everyone = yield* Effect.makeSemaphore(config.passwordChecksAtOnce)
    const addresses = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
    const busy = () => new RateLimitedError({ message: "too many password checks at once; try again shortly", retryAfterSeconds: 1 })

    const within = (semaphore: Effect.Semaphore) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | RateLimitedError, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          restore(Effect.timeoutOption(semaphore.take(1), config.passwordCheckWait)),
          (permit): Effect.Effect<A, E | RateLimitedError, R> =>
            Option.isNone(permit) ? Effect.fail(busy()) : Effect.ensuring(restore(effect), semaphore.release(1))
        ))

    const entryFor = (address: string) =>
      Effect.sync(() => {
        let entry = addresses.get(address)
        if (entry === undefined) {
          entry = { semaphore: Effect.unsafeMakeSemaphore(config.passwordChecksPerAddress), users: 0 }
          addresses.set(address, entry)
        }
        entry.users++
        return entry
      })

    /** Runs the check when a slot of the address and of the process is free, or fails RATE_LIMITED. */
    return <A, E, R>(address: string, check: Effect.Effect<A, E, R>): Effect.Effect<A, E | RateLimitedError, R> =>
      Effect.acquireUseRelease(
        entryFor(address),
        (entry) => within(entry.semaphore)(within(everyone)(check)),
        (entry) =>
          Effect.sync(() => {
            if (--entry.users === 0) addresses.delete(address)
          })
      )
  })
