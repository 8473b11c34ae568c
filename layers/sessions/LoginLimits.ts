import { SqlClient } from "@effect/sql"
import { Duration, Effect, Schema } from "effect"
import type { UserId } from "../../src/domain/Ids.ts"
import type { SessionsConfig } from "./SessionsConfig.ts"
import { interval } from "./Tokens.ts"

const Attempt = Schema.Struct({
  allowed: Schema.Boolean,
  proven: Schema.Boolean,
  retryAfterSeconds: Schema.NullOr(Schema.Int),
  refusedBy: Schema.NullOr(Schema.Literal("address", "account"))
})
export type Attempt = typeof Attempt.Type

/**
 * The login limits, in the database so every instance shares one budget (migrations/0005): per address
 * (refilled over 15 minutes) and per account (the email, whatever organization the request names;
 * one a minute), taken in one statement before the password is checked and given back on success.
 */
export const makeLoginLimits = (config: SessionsConfig) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const addressBurst = config.loginFailuresPerAddress
    const addressRate = addressBurst / 900
    const accountBurst = config.loginFailuresPerAccount
    const accountRate = 1 / 60
    const proofWindow = interval(Duration.toMillis(config.provenAddressWindow))
    const decodeAttempt = Schema.decodeUnknown(Attempt)

    return {
      /** One attempt: allowed (and whether from a proven address), or refused with the seconds to wait. */
      take: (address: string, email: string, userAgent: string | undefined, at: Date) =>
        sql`
          SELECT allowed, proven, retry_after_seconds AS "retryAfterSeconds", refused_by AS "refusedBy"
            FROM auth_login_take(${address}, ${email}, ${userAgent ?? null}, ${at}, ${addressBurst}, ${addressRate},
                                 ${accountBurst}, ${accountRate}, ${proofWindow}::interval)`.pipe(
          Effect.flatMap(([row]) => decodeAttempt(row)),
          Effect.orDie
        ),
      /** The password was right: the attempt's tokens go back and the address is proven for the user. */
      succeeded: (address: string, email: string, userId: UserId, at: Date, proven: boolean) =>
        sql`SELECT auth_login_succeeded(${address}, ${email}, ${userId}, ${at}, ${proven}, ${addressBurst}, ${addressRate},
                                        ${accountBurst}, ${accountRate})`.pipe(Effect.asVoid, Effect.orDie),
      /** An attempt that checked no password (the check was not reached): the account's token goes back. */
      unused: (email: string, at: Date, proven: boolean) =>
        proven
          ? Effect.void
          : sql`SELECT auth_bucket_take(${`login-account:${email}`}, ${at}, ${accountBurst}, ${accountRate}, -1, 0)`.pipe(Effect.asVoid, Effect.orDie)
    }
  })
