/**
 * What every peer server does alike (bench/http/PeerWork.ts for the HTTP peers, bench/notifications/PeerWork.ts
 * for the socket peers), so that the peers of both benchmarks do the same: their database pool, the auth
 * caches like the project's (verified tokens until exp plus the clock tolerance, session statuses for 30 s,
 * both bounded), and how the process stops. The session check itself stays with each peer: it mirrors
 * what the project checks on that path.
 */
import pg from "pg"
import * as Jwt from "./Jwt.ts"

/** A setting from the environment (the project's variable names); without a fallback it is required. */
export const env = (name: string, fallback?: string) => {
  const value = process.env[name]
  if (value !== undefined && value !== "") return value
  if (fallback !== undefined) return fallback
  throw new Error(`${name} is required`)
}

/** The project's defaults (README, Configuration): cache bound 20,000, status TTL 30 s. */
const maxEntries = 20_000
const statusTtlMs = 30_000

/** Map insertion order as recency: re-insert on hit, evict the oldest past the bound (as the project's caches). */
const remember = <K, V>(map: Map<K, V>, key: K, value: V, max: number) => {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) map.delete(map.keys().next().value as K)
}

/** The peer's pool on `databaseUrl` (DB_POOL_MAX connections, as the project), once it answers. */
export const openPool = async (databaseUrl: string, applicationName: string) => {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: Number(env("DB_POOL_MAX", "10")),
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 60_000,
    application_name: applicationName
  })
  // An idle connection's error (the database stopping) is reported by the next query that needs one.
  pool.on("error", () => undefined)
  await pool.query("SELECT 1")
  return pool
}

/** The claims of a token, verified once and then cached until exp (plus the clock tolerance); Jwt.TokenError when invalid. */
export const tokenCache = (keys: Jwt.Keys) => {
  const tokens = new Map<string, { readonly claims: Jwt.AccessClaims; readonly validUntil: number }>()
  return async (token: string, now: number) => {
    const cached = tokens.get(token)
    if (cached !== undefined && now < cached.validUntil) return cached.claims
    if (cached !== undefined) tokens.delete(token)
    const claims = await Jwt.verify(keys, token, now)
    remember(tokens, token, { claims, validUntil: claims.exp * 1000 + Jwt.clockToleranceSeconds * 1000 }, maxEntries)
    return claims
  }
}

export interface SessionStatus {
  readonly absoluteExpiresAt: number
  readonly until: number
}

/** Session statuses checked in the database, reused for statusTtlMs. */
export const sessionStatusCache = () => {
  const statuses = new Map<string, SessionStatus>()
  return {
    /** The status of the session checked less than statusTtlMs ago, if any. */
    fresh: (sessionId: string, now: number): SessionStatus | undefined => {
      const status = statuses.get(sessionId)
      return status === undefined || status.until <= now ? undefined : status
    },
    /** Records a session found usable now, with its absolute expiry. */
    store: (sessionId: string, absoluteExpiresAt: Date, now: number): SessionStatus => {
      const status = { absoluteExpiresAt: absoluteExpiresAt.getTime(), until: now + statusTtlMs }
      remember(statuses, sessionId, status, maxEntries)
      return status
    }
  }
}

/** Stops the server (and whatever `stop` closes) on SIGINT/SIGTERM, and when the benchmark that started this process goes away. */
export const stopOn = (stop: () => Promise<void>) => {
  let stopping = false
  const once = () => {
    if (stopping) return
    stopping = true
    stop().then(
      () => process.exit(0),
      () => process.exit(1)
    )
  }
  process.once("SIGINT", once)
  process.once("SIGTERM", once)
  process.once("disconnect", once)
}
