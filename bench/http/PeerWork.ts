/**
 * What the project does per request, in plain Node (pg Pool, jose), shared by the two peer servers so
 * that only their HTTP layer differs: the bearer check with a verified-token cache until exp and a
 * session-status cache of 30 s, the session list query, and a refresh as one `auth_refresh_limited` call
 * (migrations/0002_refresh_rotation.ts) followed by signing a new access token.
 */
import * as Crypto from "node:crypto"
import * as Jwt from "./Jwt.ts"
import { env, openPool, sessionStatusCache, tokenCache } from "./Peer.ts"

export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export interface ClientInfo {
  readonly ip: string
  readonly userAgent: string | undefined
}

const error = (status: number, code: string, message: string, headers?: Readonly<Record<string, string>>): Answer =>
  headers === undefined ? { status, body: { code, message } } : { status, body: { code, message }, headers }

const statusOf: Readonly<Record<string, number>> = { USER_INACTIVE: 403 }
const authError = (code: string, message: string) => error(statusOf[code] ?? 401, code, message)
const sessionMessages: Readonly<Record<string, string>> = {
  USER_INACTIVE: "the user is not active",
  SESSION_REVOKED: "the session was revoked",
  SESSION_EXPIRED: "the session expired"
}
const sessionError = (code: "USER_INACTIVE" | "SESSION_REVOKED" | "SESSION_EXPIRED") => authError(code, sessionMessages[code]!)

const refreshTokenPattern = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/
const sha256 = (secret: string) => Crypto.createHash("sha256").update(secret).digest()
const bearer = /^Bearer\s+(\S+)\s*$/i

/** The project's defaults (README, Configuration): idle 30 min, reuse leeway 10 s (the caches' in bench/http/Peer.ts). */
const idleInterval = `${30 * 60 * 1000} milliseconds`
const leewayInterval = `${10 * 1000} milliseconds`
const channel = "casecore_events"

export const makeWork = async (applicationName: string) => {
  const keys = await Jwt.loadKeys(env("JWT_PRIVATE_KEY"), Jwt.parseAlgorithm("JWT_ALGORITHM", process.env.JWT_ALGORITHM, "EdDSA"), process.env.JWT_KEY_ID || undefined)
  const refreshesPerMinute = Number(env("REFRESHES_PER_SESSION_PER_MINUTE", "30"))
  // The project checks failed refreshes per address in the same call (migrations/0005): so does the peer.
  const refreshFailuresPerAddress = Number(env("REFRESH_FAILURES_PER_ADDRESS", "30"))
  const pool = await openPool(env("DATABASE_URL"), applicationName)

  const claimsOf = tokenCache(keys)
  const sessions = sessionStatusCache()

  /** undefined when the session may be used, else the answer to send. */
  const checkSession = async (claims: Jwt.AccessClaims, now: number): Promise<Answer | undefined> => {
    let status = sessions.fresh(claims.sid, now)
    if (status === undefined) {
      const { rows } = await pool.query<{ revoked_at: Date | null; absolute_expires_at: Date; user_status: string; organization_status: string }>(
        `SELECT s.revoked_at, s.absolute_expires_at, u.status AS user_status, o.status AS organization_status
           FROM auth_sessions s
           JOIN users u ON u.id = s.user_id
           JOIN organizations o ON o.id = s.organization_id
          WHERE s.id = $1 AND s.user_id = $2 AND s.organization_id = $3`,
        [claims.sid, claims.sub, claims.org]
      )
      const row = rows[0]
      if (row === undefined) return sessionError("SESSION_REVOKED")
      if (row.user_status !== "ACTIVE" || row.organization_status !== "ACTIVE") return sessionError("USER_INACTIVE")
      if (row.revoked_at !== null) return sessionError("SESSION_REVOKED")
      if (now >= row.absolute_expires_at.getTime()) return sessionError("SESSION_EXPIRED")
      status = sessions.store(claims.sid, row.absolute_expires_at, now)
    }
    return now >= status.absoluteExpiresAt ? sessionError("SESSION_EXPIRED") : undefined
  }

  const listSessions = async (authorization: string | undefined): Promise<Answer> => {
    const match = authorization === undefined ? null : bearer.exec(authorization)
    if (match === null) return authError("UNAUTHORIZED", "a Bearer token is required")
    const now = Date.now()
    let claims: Jwt.AccessClaims
    try {
      claims = await claimsOf(match[1]!, now)
    } catch (cause) {
      if (cause instanceof Jwt.TokenError) return authError(cause.code, cause.message)
      throw cause
    }
    const refused = await checkSession(claims, now)
    if (refused !== undefined) return refused
    const at = new Date()
    const { rows } = await pool.query<{ id: string; created_at: Date; last_refreshed_at: Date }>(
      `SELECT id, created_at, last_refreshed_at FROM auth_sessions
        WHERE user_id = $1 AND organization_id = $2 AND revoked_at IS NULL
          AND absolute_expires_at > $3 AND idle_expires_at > $4
        ORDER BY created_at DESC`,
      [claims.sub, claims.org, at, at]
    )
    return {
      status: 200,
      body: {
        sessions: rows.map((row) => ({
          id: row.id,
          createdAt: row.created_at.toISOString(),
          lastRefreshedAt: row.last_refreshed_at.toISOString(),
          current: row.id === claims.sid
        }))
      }
    }
  }

  type Outcome = {
    readonly outcome: string
    readonly session_id: string | null
    readonly organization_id: string | null
    readonly user_id: string | null
    readonly role: string | null
    readonly display_name: string | null
    readonly absolute_expires_at: Date | null
    readonly retry_after_seconds: number | null
  }

  /** A refresh token already validated as a non-empty string of at most 200 characters (the body schema). */
  const refresh = async (refreshToken: string, client: ClientInfo): Promise<Answer> => {
    const match = refreshTokenPattern.exec(refreshToken)
    if (match === null) return authError("INVALID_TOKEN", "malformed refresh token")
    const selector = Crypto.randomUUID()
    const secret = Crypto.randomBytes(32).toString("base64url")
    const at = new Date()
    const { rows } = await pool.query<Outcome>(
      `SELECT * FROM auth_refresh_limited($1, $2, $3::uuid, $4, $5, $6::interval, $7::interval, $8, $9, $10::uuid, $11, $12, $13, $14)`,
      [refreshFailuresPerAddress, refreshFailuresPerAddress / 900, match[1]!, sha256(match[2]!), at, idleInterval, leewayInterval,
        refreshesPerMinute, refreshesPerMinute / 60, selector, sha256(secret), client.ip, client.userAgent ?? null, channel]
    )
    const row = rows[0]
    switch (row?.outcome) {
      case "ROTATED":
      case "REPLACED": {
        const user = { userId: row.user_id!, organizationId: row.organization_id!, sessionId: row.session_id!, role: row.role! }
        const access = await Jwt.sign(keys, user)
        return {
          status: 200,
          body: {
            accessToken: access.token,
            refreshToken: `${selector}.${secret}`,
            expiresAt: access.expiresAt.toISOString(),
            refreshExpiresAt: row.absolute_expires_at!.toISOString(),
            user: { id: user.userId, organizationId: user.organizationId, role: user.role, displayName: row.display_name }
          }
        }
      }
      case "REFRESH_TOKEN_REUSED":
        return authError("REFRESH_TOKEN_REUSED", "this refresh token was already used; the session is revoked")
      case "RATE_LIMITED":
        return error(429, "RATE_LIMITED", "too many refreshes for this session", { "retry-after": String(row.retry_after_seconds) })
      case "USER_INACTIVE":
      case "SESSION_REVOKED":
      case "SESSION_EXPIRED":
        return sessionError(row.outcome)
      default:
        return authError("INVALID_TOKEN", "unknown refresh token")
    }
  }

  return {
    healthz: (): Answer => ({ status: 200, body: { status: "ok" } }),
    listSessions,
    refresh,
    internal: (): Answer => error(500, "INTERNAL", "internal error"),
    notFound: (): Answer => error(404, "NOT_FOUND", "no such route"),
    badRequest: (code: "BAD_REQUEST" | "VALIDATION_ERROR", message: string): Answer => error(400, code, message),
    payloadTooLarge: (): Answer => error(413, "PAYLOAD_TOO_LARGE", "the body is too large"),
    maxBodyBytes: Number(env("HTTP_MAX_BODY_BYTES", String(1024 * 1024))),
    close: () => pool.end()
  }
}

export type Work = Awaited<ReturnType<typeof makeWork>>

/** The body schema of POST /auth/refresh: `{ refreshToken: string (1..200) }`; the VALIDATION_ERROR message otherwise. */
export const refreshTokenOf = (body: unknown): string | { readonly invalid: string } => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { invalid: "body: expected an object" }
  const token = (body as { readonly refreshToken?: unknown }).refreshToken
  if (typeof token !== "string") return { invalid: "refreshToken: is missing or not a string" }
  if (token.length < 1) return { invalid: "refreshToken: must not be empty" }
  if (token.length > 200) return { invalid: "refreshToken: expected at most 200 characters" }
  return token
}
