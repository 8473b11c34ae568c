import { SqlClient } from "@effect/sql"
import { Clock, Config, Duration, Effect, Layer, Queue } from "effect"
import type { AccessClaims, AuthenticatedUser } from "../src/domain/Auth.ts"
import { AuthError } from "../src/domain/Errors.ts"
import type { BusEvent } from "../src/domain/Events.ts"
import { Auth } from "../services/Auth.ts"
import { EventBus } from "../services/EventBus.ts"
import { Jwt } from "../services/Jwt.ts"
import { checkSessionState, sessionError, type SessionState } from "./SessionState.ts"

/** Clock tolerance of jose's exp check, mirrored by the token cache so a cached token never outlives it. */
const toleranceMs = 30_000

interface SessionStatus {
  readonly userId: string
  /** Absolute expiry of the session (ms). */
  readonly absoluteExpiresAt: number
  /** Cached until (ms): a safety net beside the events. */
  readonly until: number
}

const authError = (code: AuthError["code"], message: string) => new AuthError({ code, message })

/** Map insertion order as recency: re-insert on hit, evict the oldest past the bound. */
const remember = <K, V>(map: Map<K, V>, key: K, value: V, max: number) => {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) map.delete(map.keys().next().value as K)
}

export const AuthLive = Layer.scoped(
  Auth,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jwt = yield* Jwt
    const bus = yield* EventBus
    const maxEntries = yield* Config.integer("AUTH_CACHE_MAX_ENTRIES").pipe(Config.withDefault(20_000))
    const statusTtl = yield* Config.duration("AUTH_STATUS_CACHE_TTL").pipe(Config.withDefault(Duration.seconds(30)))

    const tokens = new Map<string, { readonly claims: AccessClaims; readonly validUntil: number }>()
    const sessions = new Map<string, SessionStatus>()
    // Bumped by every invalidation: a status load that started before it must not be cached.
    let epoch = 0

    const clear = () => {
      epoch++
      sessions.clear()
    }

    const forget = (event: BusEvent) =>
      Effect.sync(() => {
        epoch++
        if (event._tag === "session.revoked" && event.sessionId !== null) {
          sessions.delete(event.sessionId)
          return
        }
        for (const [sessionId, status] of sessions) {
          if (status.userId === event.userId) sessions.delete(sessionId)
        }
      })

    const loadStatus = Effect.fnUntraced(function* (claims: AccessClaims, now: number) {
      const startedAt = epoch
      const [row] = yield* sql<SessionState>`SELECT s.revoked_at, s.absolute_expires_at, u.status AS user_status, o.status AS organization_status
           FROM auth_sessions s
           JOIN users u ON u.id = s.user_id
           JOIN organizations o ON o.id = s.organization_id
          WHERE s.id = ${claims.sid} AND s.user_id = ${claims.sub} AND s.organization_id = ${claims.org}`.pipe(Effect.orDie)
      if (row === undefined) return yield* sessionError("SESSION_REVOKED")
      yield* checkSessionState(row, new Date(now))
      const status: SessionStatus = {
        userId: claims.sub,
        absoluteExpiresAt: row.absolute_expires_at.getTime(),
        until: now + Duration.toMillis(statusTtl)
      }
      if (startedAt === epoch) remember(sessions, claims.sid, status, maxEntries)
      return status
    })

    const checkSession = Effect.fnUntraced(function* (claims: AccessClaims, now: number) {
      const cached = sessions.get(claims.sid)
      const status = cached !== undefined && cached.until > now ? cached : yield* loadStatus(claims, now)
      if (now >= status.absoluteExpiresAt) return yield* sessionError("SESSION_EXPIRED")
    })

    const claimsOf = Effect.fnUntraced(function* (token: string, now: number) {
      const cached = tokens.get(token)
      if (cached !== undefined && now < cached.validUntil) return cached.claims
      if (cached !== undefined) tokens.delete(token)
      const claims = yield* jwt.verify(token)
      remember(tokens, token, { claims, validUntil: claims.exp * 1000 + toleranceMs }, maxEntries)
      return claims
    })

    const verify = Effect.fnUntraced(function* (token: string) {
      const now = yield* Clock.currentTimeMillis
      const claims = yield* claimsOf(token, now)
      yield* checkSession(claims, now)
      return {
        userId: claims.sub,
        organizationId: claims.org,
        sessionId: claims.sid,
        role: claims.role,
        expiresAt: new Date(claims.exp * 1000)
      } satisfies AuthenticatedUser
    })

    const events = yield* bus.subscribe
    yield* Queue.take(events).pipe(
      Effect.flatMap((message) => (message._tag === "Resync" ? Effect.sync(clear) : forget(message.event))),
      Effect.forever,
      Effect.forkScoped
    )

    return Auth.of({
      verify,
      verifyHeader: (authorization) => {
        const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
        return match === null ? authError("UNAUTHORIZED", "a Bearer token is required") : verify(match[1]!)
      },
      forget
    })
  })
)
