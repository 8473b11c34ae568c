/**
 * What both peer servers do besides their socket layer (plain Node: pg, jose), shared so that only the
 * socket layer differs between the bare `ws` peer and the Socket.IO peer:
 *
 * - authentication of a socket: the access token verified with jose like the project (algorithm pinned,
 *   `typ` at+jwt, iss/aud, every claim required, 30 s tolerance, key by `kid`; bench/http/Jwt.ts), verified
 *   tokens cached until exp, then the session check the project makes (session row + user + organization
 *   status, role unchanged, not past the absolute expiry), cached per session for 30 s like the project's
 *   Auth (AUTH_STATUS_CACHE_TTL);
 * - the unread count of a user (`count(*) … read_at IS NULL`, the project's partial index);
 * - the HTTP side: POST /notifications (ADMIN bearer token): the rows inserted in one transaction, one per
 *   recipient, after locking the recipients' user rows in id order, with pg_notify of their ids (decimal
 *   strings, split under 8,000 bytes); GET /healthz; GET /metrics (`nodejs_heap_size_used_bytes`, as the
 *   project's prom-client default metric);
 * - the listener: one LISTEN connection; ids that arrive together are loaded in one query and handed to
 *   the socket layer in commit order.
 */
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import pg from "pg"
import * as Jwt from "../http/Jwt.ts"
import { env, openPool, sessionStatusCache, tokenCache } from "../http/Peer.ts"

export interface SocketUser {
  readonly userId: string
  readonly organizationId: string
  readonly sessionId: string
  readonly role: string
  readonly expiresAt: Date
}

/** The data of `connected` (PROTOCOL: Handshake) for an authenticated socket: a fresh connection id, the user's two rooms. */
export const connectedData = (user: SocketUser) => ({
  connectionId: Crypto.randomUUID(),
  userId: user.userId,
  organizationId: user.organizationId,
  sessionId: user.sessionId,
  expiresAt: user.expiresAt.toISOString(),
  rooms: [`user:${user.userId}`, `org:${user.organizationId}`]
})

export type AuthCode = "UNAUTHORIZED" | "INVALID_TOKEN" | "TOKEN_EXPIRED" | "SESSION_REVOKED" | "SESSION_EXPIRED" | "USER_INACTIVE"

export class AuthFailure extends Error {
  constructor(readonly code: AuthCode | "UNAVAILABLE", message: string) {
    super(message)
  }
}

/** A notification as the contract sends it in `notification:new`. */
export interface NotificationJson {
  readonly id: string
  readonly type: string
  readonly title: string
  readonly body: string
  readonly entityType?: string
  readonly entityId?: string
  readonly createdAt: string
  readonly readAt: string | null
}

export interface LoadedNotification {
  readonly userId: string
  readonly notification: NotificationJson
}

/** NOTIFY payloads must stay under 8,000 bytes. */
const maxPayloadBytes = 7_900
const bearer = /^Bearer\s+(\S+)\s*$/i
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const messages: Readonly<Record<string, string>> = {
  USER_INACTIVE: "the user is not active",
  SESSION_REVOKED: "the session was revoked",
  SESSION_EXPIRED: "the session expired"
}
const sessionFailure = (code: "USER_INACTIVE" | "SESSION_REVOKED" | "SESSION_EXPIRED") => new AuthFailure(code, messages[code]!)

/** Comma-separated ids in payloads of at most maxPayloadBytes. */
const chunkIds = (ids: ReadonlyArray<string>) => {
  const chunks: Array<string> = []
  let current = ""
  for (const id of ids) {
    if (current.length + id.length + 1 > maxPayloadBytes) {
      chunks.push(current)
      current = ""
    }
    current = current === "" ? id : `${current},${id}`
  }
  if (current !== "") chunks.push(current)
  return chunks
}

interface Row {
  readonly id: string
  readonly user_id: string
  readonly type: string
  readonly title: string
  readonly body: string
  readonly entity_type: string | null
  readonly entity_id: string | null
  readonly created_at: Date
  readonly read_at: Date | null
}

const toJson = (row: Row): NotificationJson => ({
  id: row.id,
  type: row.type,
  title: row.title,
  body: row.body,
  ...(row.entity_type === null ? {} : { entityType: row.entity_type }),
  ...(row.entity_id === null ? {} : { entityId: row.entity_id }),
  createdAt: row.created_at.toISOString(),
  readAt: row.read_at === null ? null : row.read_at.toISOString()
})

export const makePeerWork = async (applicationName: string, channel: string) => {
  const keys = await Jwt.loadKeys(env("JWT_PRIVATE_KEY"), Jwt.parseAlgorithm("JWT_ALGORITHM", process.env.JWT_ALGORITHM, "ES256"), process.env.JWT_KEY_ID || undefined)
  const databaseUrl = env("DATABASE_URL")
  const pool = await openPool(databaseUrl, applicationName)

  const claimsOf = tokenCache(keys)
  const statuses = sessionStatusCache()

  const checkSession = async (claims: Jwt.AccessClaims, now: number) => {
    let status = statuses.fresh(claims.sid, now)
    if (status === undefined) {
      let rows: ReadonlyArray<{ revoked_at: Date | null; absolute_expires_at: Date; role: string; user_status: string; organization_status: string }>
      try {
        ;({ rows } = await pool.query(
          `SELECT s.revoked_at, s.idle_expires_at, s.absolute_expires_at, u.role, u.status AS user_status, o.status AS organization_status
             FROM auth_sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = s.organization_id
            WHERE s.id = $1 AND s.user_id = $2 AND s.organization_id = $3`,
          [claims.sid, claims.sub, claims.org]
        ))
      } catch (cause) {
        throw new AuthFailure("UNAVAILABLE", `database: ${String(cause)}`)
      }
      const row = rows[0]
      if (row === undefined) throw sessionFailure("SESSION_REVOKED")
      if (row.user_status !== "ACTIVE" || row.organization_status !== "ACTIVE") throw sessionFailure("USER_INACTIVE")
      if (row.revoked_at !== null) throw sessionFailure("SESSION_REVOKED")
      if (now >= row.absolute_expires_at.getTime()) throw sessionFailure("SESSION_EXPIRED")
      if (row.role !== claims.role) throw sessionFailure("SESSION_REVOKED")
      status = statuses.store(claims.sid, row.absolute_expires_at, now)
    }
    if (now >= status.absoluteExpiresAt) throw sessionFailure("SESSION_EXPIRED")
  }

  /** The token's user, or AuthFailure with the catalog's code. */
  const authenticate = async (token: string | undefined): Promise<SocketUser> => {
    if (token === undefined || token === "") throw new AuthFailure("UNAUTHORIZED", "a token is required")
    const now = Date.now()
    let claims: Jwt.AccessClaims
    try {
      claims = await claimsOf(token, now)
    } catch (cause) {
      if (cause instanceof Jwt.TokenError) throw new AuthFailure(cause.code, cause.message)
      throw cause
    }
    await checkSession(claims, now)
    return { userId: claims.sub, organizationId: claims.org, sessionId: claims.sid, role: claims.role, expiresAt: new Date(claims.exp * 1000) }
  }

  const unreadCount = async (userId: string) => {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL`, [userId])
    return rows[0]?.n ?? 0
  }

  /** One transaction: lock the recipients in id order, insert one row each, pg_notify their ids, commit. */
  const create = async (organizationId: string, userId: string | undefined, input: { readonly type: string; readonly title: string; readonly body: string }) => {
    const client = await pool.connect()
    try {
      await client.query("BEGIN")
      const { rows } = await client.query<{ id: string }>(
        `WITH recipients AS (
           SELECT id FROM users
            WHERE organization_id = $1 AND ($2::uuid IS NULL OR id = $2::uuid) AND status = 'ACTIVE'
            ORDER BY id FOR UPDATE
         )
         INSERT INTO notifications (organization_id, user_id, type, title, body)
         SELECT $1, id, $3, $4, $5 FROM recipients ORDER BY id
         RETURNING id::text AS id`,
        [organizationId, userId ?? null, input.type, input.title, input.body]
      )
      const ids = rows.map((row) => row.id)
      if (ids.length > 0) await client.query(`SELECT pg_notify($1, chunk) FROM unnest($2::text[]) AS chunk`, [channel, chunkIds(ids)])
      await client.query("COMMIT")
      return ids
    } catch (cause) {
      await client.query("ROLLBACK").catch(() => undefined)
      throw cause
    } finally {
      client.release()
    }
  }

  /**
   * LISTEN on the peer's own channel. The ids of NOTIFYs that arrive in one turn of the event loop are
   * loaded in one query; loads run one after another, so rows reach `deliver` in commit order.
   */
  const listen = async (deliver: (rows: ReadonlyArray<LoadedNotification>) => void) => {
    const listener = new pg.Client({ connectionString: databaseUrl, application_name: `${applicationName}-listen` })
    listener.on("error", (error) => console.error(`listener: ${error.message}`))
    await listener.connect()
    // One load at a time: the ids that arrive while a load runs make the next batch.
    let pending: Array<string> = []
    let busy = false
    const flush = () => {
      const ids = pending
      pending = []
      pool.query<Row>(
        `SELECT id::text AS id, user_id, type, title, body, entity_type, entity_id::text AS entity_id, created_at, read_at
           FROM notifications WHERE id = ANY($1::bigint[]) ORDER BY id`,
        [ids]
      ).then(
        ({ rows }) => deliver(rows.map((row) => ({ userId: row.user_id, notification: toJson(row) }))),
        (cause: unknown) => console.error(`loading notifications: ${String(cause)}`)
      ).finally(() => {
        if (pending.length > 0) flush()
        else busy = false
      })
    }
    listener.on("notification", (message) => {
      if (message.channel !== channel || message.payload === undefined || message.payload === "") return
      for (const id of message.payload.split(",")) pending.push(id)
      if (busy) return
      busy = true
      // The NOTIFYs of one transaction arrive together: collect them for one turn of the event loop.
      setImmediate(flush)
    })
    await listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    return () => listener.end()
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  const send = (res: Http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
    res.end(text)
  }
  const error = (res: Http.ServerResponse, status: number, code: string, message: string) => send(res, status, { code, message })

  const readBody = (req: Http.IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
      req.on("error", reject)
    })

  const createNotifications = async (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const match = bearer.exec(req.headers.authorization ?? "")
    let user: SocketUser
    try {
      user = await authenticate(match?.[1])
    } catch (cause) {
      if (!(cause instanceof AuthFailure)) throw cause
      return error(res, cause.code === "UNAVAILABLE" ? 503 : cause.code === "USER_INACTIVE" ? 403 : 401, cause.code, cause.message)
    }
    if (user.role !== "ADMIN") return error(res, 403, "FORBIDDEN", "only an ADMIN may create notifications")
    let body: unknown
    try {
      body = JSON.parse(await readBody(req))
    } catch {
      return error(res, 400, "BAD_REQUEST", "the body must be a JSON object")
    }
    const { userId, title, body: text, type } = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>
    if (typeof title !== "string" || title.length < 1 || title.length > 200) return error(res, 400, "VALIDATION_ERROR", "title: 1..200 characters")
    if (typeof text !== "string" || text.length > 4000) return error(res, 400, "VALIDATION_ERROR", "body: at most 4000 characters")
    if (type !== undefined && (typeof type !== "string" || type === "" || type.length > 64)) return error(res, 400, "VALIDATION_ERROR", "type: 1..64 characters")
    if (userId !== undefined && (typeof userId !== "string" || !uuid.test(userId))) return error(res, 400, "VALIDATION_ERROR", "userId: a UUID")
    const ids = await create(user.organizationId, userId as string | undefined, { type: (type as string | undefined) ?? "GENERAL", title, body: text })
    if (userId !== undefined && ids.length === 0) return error(res, 404, "NOT_FOUND", "no such user")
    send(res, 201, { ids })
  }

  /** The HTTP routes both peers serve beside their sockets. */
  const handleHttp = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]
    if (req.method === "GET" && path === "/healthz") return send(res, 200, { status: "ok" })
    if (req.method === "GET" && path === "/metrics") {
      const memory = process.memoryUsage()
      const text = `nodejs_heap_size_used_bytes ${memory.heapUsed}\nprocess_resident_memory_bytes ${memory.rss}\n`
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" })
      return res.end(text)
    }
    if (req.method === "POST" && path === "/notifications") {
      return void createNotifications(req, res).catch((cause: unknown) => {
        console.error("POST /notifications failed", cause)
        if (!res.headersSent) error(res, 500, "INTERNAL", "internal error")
      })
    }
    error(res, 404, "NOT_FOUND", "no such route")
  }

  return { authenticate, unreadCount, listen, handleHttp, close: () => pool.end() }
}

/** The token of a socket: the connect payload's, else the Authorization header's, else the `token` query parameter. */
export const tokenOf = (auth: unknown, authorization: string | undefined, url: string | undefined) => {
  if (typeof auth === "object" && auth !== null && typeof (auth as { token?: unknown }).token === "string") return (auth as { token: string }).token
  const match = bearer.exec(authorization ?? "")
  if (match !== null) return match[1]
  const query = url === undefined ? undefined : new URL(url, "http://localhost").searchParams.get("token")
  return query ?? undefined
}
