import { SqlClient } from "@effect/sql"
import { Clock, Effect } from "effect"
import type { ClientInfo } from "../../src/domain/Auth.ts"
import { AuthError } from "../../src/domain/Errors.ts"
import { AuditLog } from "../../services/AuditLog.ts"
import { Jwt } from "../../services/Jwt.ts"
import { Metrics } from "../../services/Metrics.ts"
import { Passwords } from "../../services/Passwords.ts"
import { RateLimiter, type RatePolicy } from "../../services/RateLimiter.ts"
import type { LoginInput } from "../../services/Sessions.ts"
import { fromClient, sessionEntry } from "../AuditEntries.ts"
import { makeSessionRepository } from "../SessionRepository.ts"
import { sessionError } from "../SessionState.ts"
import { makeUserRepository } from "../UserRepository.ts"
import type { SessionsConfig } from "./SessionsConfig.ts"
import { newRefreshToken, tokenPair } from "./Tokens.ts"

const invalidCredentials = new AuthError({
  code: "INVALID_CREDENTIALS",
  message: "invalid email or password (give the organization when the email belongs to several)"
})

/** Login: credentials, limits, then the session, its first refresh token and the audit row. */
export const makeLogin = (config: SessionsConfig) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jwt = yield* Jwt
    const audit = yield* AuditLog
    const passwords = yield* Passwords
    const limiter = yield* RateLimiter
    const metrics = yield* Metrics
    const users = yield* makeUserRepository
    const sessions = yield* makeSessionRepository
    const pair = tokenPair(jwt)

    // Failures refill slowly per address (an attacker's budget) and faster per account, so a victim
    // is never locked out for more than a minute or so by someone else's guesses.
    const perAddress: RatePolicy = { name: "login-address", burst: config.loginFailuresPerAddress, perSecond: config.loginFailuresPerAddress / 900 }
    const perAccount: RatePolicy = { name: "login-account", burst: config.loginFailuresPerAccount, perSecond: 1 / 60 }

    const login = Effect.fn("Sessions.login")(function* (input: LoginInput, client: ClientInfo) {
      const email = input.email.trim().toLowerCase()
      const organization = input.organization?.trim().toLowerCase()
      const accountKey = `${organization ?? "*"}:${email}`
      yield* limiter.check(perAddress, client.ip)
      yield* limiter.check(perAccount, accountKey)
      const candidates = yield* users.loginCandidates(email, organization)
      const candidate = candidates.length === 1 ? candidates[0] : undefined
      const verified = candidate === undefined
        ? yield* passwords.verifyDummy(input.password)
        : yield* passwords.verify(candidate.passwordHash, input.password)
      const at = new Date(yield* Clock.currentTimeMillis)
      if (!verified || candidate === undefined) {
        yield* audit.record(fromClient(client, {
          organizationId: candidate?.organizationId ?? null,
          actorUserId: candidate?.id ?? null,
          entityType: "user",
          entityId: candidate?.id ?? null,
          action: "auth.login.failed",
          changes: { email, ...(organization === undefined ? {} : { organization }) }
        }))
        yield* limiter.consume(perAddress, client.ip).pipe(Effect.ignore)
        yield* limiter.consume(perAccount, accountKey).pipe(Effect.ignore)
        return yield* invalidCredentials
      }
      if (candidate.status !== "ACTIVE" || candidate.organizationStatus !== "ACTIVE") {
        yield* audit.record(fromClient(client, {
          organizationId: candidate.organizationId,
          actorUserId: candidate.id,
          entityType: "user",
          entityId: candidate.id,
          action: "auth.login.inactive"
        }))
        return yield* sessionError("USER_INACTIVE")
      }
      yield* limiter.reset(perAccount, accountKey)
      const refresh = newRefreshToken()
      const absoluteExpiresAt = new Date(at.getTime() + config.absoluteMs)
      const idleExpiresAt = new Date(Math.min(at.getTime() + config.idleMs, absoluteExpiresAt.getTime()))
      const sessionId = yield* sql.withTransaction(Effect.gen(function* () {
        const sessionId = yield* sessions.open({
          organizationId: candidate.organizationId,
          userId: candidate.id,
          at,
          idleExpiresAt,
          absoluteExpiresAt,
          userAgent: client.userAgent ?? null,
          ip: client.ip,
          refreshSelector: refresh.selector,
          refreshHash: refresh.hash
        })
        yield* audit.record(sessionEntry(client, "auth.login.succeeded", { organizationId: candidate.organizationId, userId: candidate.id, sessionId }))
        return sessionId
      })).pipe(Effect.orDie)
      const subject = { userId: candidate.id, organizationId: candidate.organizationId, sessionId, role: candidate.role, displayName: candidate.displayName }
      return yield* pair(subject, refresh.token, absoluteExpiresAt)
    })

    return (input: LoginInput, client: ClientInfo) =>
      login(input, client).pipe(
        Effect.tapBoth({
          onSuccess: () => Effect.sync(() => metrics.logins.inc({ outcome: "SUCCEEDED" })),
          onFailure: (error) => Effect.sync(() => metrics.logins.inc({ outcome: error.code }))
        })
      )
  })
