import { Clock, Config, Deferred, Duration, Effect, Layer, Option, Stream } from "effect"
import type { AccessClaims, AuthenticatedUser } from "../src/domain/Auth.ts"
import { AuthError } from "../src/domain/Errors.ts"
import type { BusEvent } from "../src/domain/Events.ts"
import { Auth } from "../services/Auth.ts"
import { EventBus } from "../services/EventBus.ts"
import { Jwt } from "../services/Jwt.ts"
import { makeSessionRepository } from "./SessionRepository.ts"
import { checkSessionState, sessionError } from "./SessionState.ts"

/** Clock tolerance of jose's exp check, mirrored by the token cache so a cached token never outlives it. */
const toleranceMs = 30_000

interface SessionStatus {
  readonly userId: string
  readonly organizationId: string
  /** Absolute expiry of the session (ms). */
  readonly absoluteExpiresAt: number
  /** Cached until (ms): a safety net beside the events. */
  readonly until: number
}

const bearer = /^Bearer\s+(\S+)\s*$/i

/** Which cached statuses an event makes stale, if any. */
const staleBy = (event: BusEvent): ((status: SessionStatus) => boolean) | undefined => {
  switch (event._tag) {
    case "session.revoked":
    case "user.deactivated":
    case "user.role_changed":
      return (status) => status.userId === event.userId
    case "organization.suspended":
      return (status) => status.organizationId === event.organizationId
    default:
      return undefined
  }
}

/**
 * Map insertion order as recency: re-insert on hit, evict the oldest past the bound. Hand-written
 * rather than effect's Cache: lookups are synchronous on every request (no fiber, no Deferred), and
 * entries are dropped by event, which Cache cannot do by predicate.
 */
const remember = <K, V>(map: Map<K, V>, key: K, value: V, max: number) => {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) map.delete(map.keys().next().value as K)
}

export const AuthLive = Layer.scoped(
  Auth,
  Effect.gen(function* () {
    const jwt = yield* Jwt
    const bus = yield* EventBus
    const sessions = yield* makeSessionRepository
    const maxEntries = yield* Config.integer("AUTH_CACHE_MAX_ENTRIES").pipe(Config.withDefault(20_000))
    const statusTtl = yield* Config.duration("AUTH_STATUS_CACHE_TTL").pipe(Config.withDefault(Duration.seconds(30)))
    const statusTtlMs = Duration.toMillis(statusTtl)

    const tokens = new Map<string, { readonly claims: AccessClaims; readonly validUntil: number }>()
    const statuses = new Map<string, SessionStatus>()
    // Bumped by every invalidation: a status load that started before it must not be cached.
    let epoch = 0

    /** Drops what an event made stale; events that change no session state are ignored. */
    const forget = (event: BusEvent) => {
      const affected = staleBy(event)
      if (affected === undefined) return
      epoch++
      if (event._tag === "session.revoked" && event.sessionId !== null) {
        statuses.delete(event.sessionId)
        return
      }
      for (const [sessionId, status] of statuses) {
        if (affected(status)) statuses.delete(sessionId)
      }
    }

    const loadStatus = Effect.fnUntraced(function* (claims: AccessClaims, now: number) {
      const startedAt = epoch
      const state = yield* sessions.state({ sessionId: claims.sid, userId: claims.sub, organizationId: claims.org })
      if (Option.isNone(state)) return yield* sessionError("SESSION_REVOKED")
      yield* checkSessionState(state.value, new Date(now), { idle: false })
      // A role changed behind the token (its sessions are revoked with the change; this is the belt to that).
      if (state.value.role !== claims.role) return yield* sessionError("SESSION_REVOKED")
      const status: SessionStatus = { userId: claims.sub, organizationId: claims.org, absoluteExpiresAt: state.value.absoluteExpiresAt.getTime(), until: now + statusTtlMs }
      if (startedAt === epoch) remember(statuses, claims.sid, status, maxEntries)
      return status
    })

    const checkSession = (claims: AccessClaims, now: number) => {
      const cached = statuses.get(claims.sid)
      if (cached !== undefined && cached.until > now) {
        return now >= cached.absoluteExpiresAt ? sessionError("SESSION_EXPIRED") : Effect.void
      }
      return loadStatus(claims, now)
    }

    /** A cached token is good until exp plus the tolerance, or plus the grace asked for (sockets). */
    const claimsOf = (token: string, now: number, graceSeconds: number) => {
      const cached = tokens.get(token)
      const extra = Math.max(0, graceSeconds * 1000 - toleranceMs)
      if (cached !== undefined && now < cached.validUntil + extra) return Effect.succeed(cached.claims)
      const verified = graceSeconds > 0 ? jwt.verify(token, { graceSeconds }) : jwt.verify(token)
      return Effect.tap(verified, (claims) => {
        remember(tokens, token, { claims, validUntil: claims.exp * 1000 + toleranceMs }, maxEntries)
      })
    }

    const verify = (token: string, options?: { readonly graceSeconds?: number }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(claimsOf(token, now, options?.graceSeconds ?? 0), (claims) =>
          Effect.as(checkSession(claims, now), {
            userId: claims.sub,
            organizationId: claims.org,
            sessionId: claims.sid,
            role: claims.role,
            expiresAt: new Date(claims.exp * 1000)
          } satisfies AuthenticatedUser)))

    // Serve once subscribed: the stream's first message (Resync) says the subscription is in place.
    const subscribed = yield* Deferred.make<void>()
    yield* bus.subscribe.pipe(
      Stream.runForEach((message) =>
        Effect.zipRight(
          Effect.sync(() => {
            if (message._tag === "Resync") {
              epoch++
              statuses.clear()
            } else forget(message.event)
          }),
          Deferred.succeed(subscribed, undefined)
        )),
      Effect.forkScoped
    )
    yield* Deferred.await(subscribed)

    return Auth.of({
      verify,
      verifyHeader: (authorization) => {
        const match = authorization === undefined ? null : bearer.exec(authorization)
        return match === null ? new AuthError({ code: "UNAUTHORIZED", message: "a Bearer token is required" }) : verify(match[1]!)
      }
    })
  })
)
