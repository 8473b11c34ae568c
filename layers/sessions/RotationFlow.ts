import { Clock, Duration, Effect, Redacted } from "effect"
import type { AuthenticatedUser, ClientInfo } from "../../src/domain/Auth.ts"
import type { OrganizationId, SessionId, UserId } from "../../src/domain/Ids.ts"
import { AuthError, RateLimitedError } from "../../src/domain/Errors.ts"
import { channel } from "../../src/domain/Events.ts"
import { EventBus } from "../../services/EventBus.ts"
import { Jwt } from "../../services/Jwt.ts"
import { Metrics } from "../../services/Metrics.ts"
import { makeSessionRepository } from "../SessionRepository.ts"
import { checkSessionState, sessionError } from "../SessionState.ts"
import type { SessionsConfig } from "./SessionsConfig.ts"
import { interval, newRefreshToken, refreshTokenPattern, sha256, tokenPair } from "./Tokens.ts"

const invalidToken = (message: string) => new AuthError({ code: "INVALID_TOKEN", message })

/** Refresh-token rotation (one database call holds the decision) and the socket grace refresh. */
export const makeRotation = (config: SessionsConfig) =>
  Effect.gen(function* () {
    const jwt = yield* Jwt
    const bus = yield* EventBus
    const metrics = yield* Metrics
    const sessions = yield* makeSessionRepository
    const pair = tokenPair(jwt)
    const idle = interval(config.idleMs)
    const leeway = interval(Duration.toMillis(config.reuseLeeway))
    const graceSeconds = Duration.toSeconds(config.socketGrace)

    const rotate = Effect.fn("Sessions.refresh")(function* (refreshToken: Redacted.Redacted<string>, client: ClientInfo) {
      const match = refreshTokenPattern.exec(Redacted.value(refreshToken))
      if (match === null) return yield* invalidToken("malformed refresh token")
      const next = newRefreshToken()
      const row = yield* sessions.rotate({
        failBurst: config.refreshFailuresPerAddress,
        failRate: config.refreshFailuresPerAddress / 900,
        selector: match[1]!,
        secretHash: sha256(match[2]!),
        at: new Date(yield* Clock.currentTimeMillis),
        idle,
        leeway,
        burst: config.refreshesPerMinute,
        perSecond: config.refreshesPerMinute / 60,
        nextSelector: next.selector,
        nextHash: next.hash,
        ip: client.ip,
        userAgent: client.userAgent ?? null,
        channel
      })
      switch (row.outcome) {
        case "ROTATED":
        case "REPLACED":
          return yield* pair(row, next.token, row.absoluteExpiresAt)
        case "REFRESH_TOKEN_REUSED":
          // auth_refresh revoked the session and sent its NOTIFY; this instance need not wait for it.
          metrics.revocations.inc({ reason: "REUSE_DETECTED" })
          yield* bus.deliverLocally({ _tag: "session.revoked", organizationId: row.organizationId, userId: row.userId, sessionId: row.sessionId, reason: "REUSE_DETECTED" })
          return yield* new AuthError({ code: "REFRESH_TOKEN_REUSED", message: "this refresh token was already used; the session is revoked" })
        case "RATE_LIMITED":
          return yield* new RateLimitedError({
            message: row.refusedBy === "session" ? "too many refreshes for this session" : "too many failed refreshes from this address",
            retryAfterSeconds: row.retryAfterSeconds
          })
        case "USER_INACTIVE":
        case "SESSION_REVOKED":
        case "SESSION_EXPIRED":
          return yield* sessionError(row.outcome)
        case "INVALID_TOKEN":
          return yield* invalidToken("unknown refresh token")
      }
    })

    const refresh = (refreshToken: Redacted.Redacted<string>, client: ClientInfo) =>
      rotate(refreshToken, client).pipe(
        Effect.tapBoth({
          onSuccess: () => Effect.sync(() => metrics.refreshes.inc({ outcome: "ROTATED" })),
          onFailure: (error) => Effect.sync(() => metrics.refreshes.inc({ outcome: error.code }))
        })
      )

    /** A new access token for the session while it and its user are active; the socket is activity on it. */
    const renew = Effect.fnUntraced(function* (subject: { readonly userId: UserId; readonly organizationId: OrganizationId; readonly sessionId: SessionId }) {
      const at = new Date(yield* Clock.currentTimeMillis)
      const state = yield* sessions.state(subject)
      if (state._tag === "None") return yield* sessionError("SESSION_REVOKED")
      yield* checkSessionState(state.value, at, { idle: true })
      yield* sessions.touch(subject.sessionId, new Date(Math.min(at.getTime() + config.idleMs, state.value.absoluteExpiresAt.getTime())))
      const access = yield* jwt.sign({ ...subject, role: state.value.role })
      return { accessToken: access.token, expiresAt: access.expiresAt }
    })

    const refreshSocket = Effect.fn("Sessions.refreshSocket")(function* (accessToken: string) {
      const claims = yield* jwt.verify(accessToken, { graceSeconds })
      return yield* renew({ userId: claims.sub, organizationId: claims.org, sessionId: claims.sid })
    })

    const renewSocket = Effect.fn("Sessions.renewSocket")(function* (user: AuthenticatedUser) {
      return yield* renew(user)
    })

    return { refresh, refreshSocket, renewSocket }
  })
