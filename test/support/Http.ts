import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as Crypto from "node:crypto"
import { BaseUrl, password, type TestUser } from "./TestApp.ts"

/** An HTTP answer, read whole. */
export interface Reply {
  readonly status: number
  readonly headers: globalThis.Headers
  readonly text: string
  /** Milliseconds from sending the request to having read the whole answer. */
  readonly ms: number
}

export interface Send {
  /** Sent as JSON. */
  readonly json?: unknown
  /** Sent as is, labelled `contentType` (JSON by default). */
  readonly raw?: string
  readonly contentType?: string
  readonly token?: string
  /** The whole Authorization header (a malformed one, say); else `Bearer <token>` when `token` is given. */
  readonly authorization?: string
  readonly forwardedFor?: string
}

/** One request with fetch to the instance at BaseUrl. */
export const send = (method: string, path: string, options: Send = {}) =>
  Effect.flatMap(BaseUrl, (baseUrl) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = { "user-agent": "vitest" }
      const body = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json))
      if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json"
      const authorization = options.authorization ?? (options.token === undefined ? undefined : `Bearer ${options.token}`)
      if (authorization !== undefined) headers.authorization = authorization
      if (options.forwardedFor !== undefined) headers["x-forwarded-for"] = options.forwardedFor
      const started = performance.now()
      const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
      const text = await response.text()
      return { status: response.status, headers: response.headers, text, ms: performance.now() - started }
    })
  )

/** POST /auth/login for the user, from `forwardedFor` when given. */
export const loginReply = (user: Pick<TestUser, "email" | "organization">, pass = password, forwardedFor?: string) =>
  send("POST", "/auth/login", {
    json: { email: user.email, password: pass, organization: user.organization },
    ...(forwardedFor === undefined ? {} : { forwardedFor })
  })

/** The `code` of an error answer (a `{ code, message }` body). */
export const codeOf = (reply: Reply) => {
  try {
    return (JSON.parse(reply.text) as { readonly code?: unknown }).code
  } catch {
    return undefined
  }
}

/** The tokens of a 200 login or refresh answer. */
export const tokensOf = (reply: Reply) => JSON.parse(reply.text) as { readonly accessToken: string; readonly refreshToken: string }

/** A well-formed refresh token (`<uuid>.<43 base64url characters>`) the server never issued. */
export const unknownRefreshToken = () => `${Crypto.randomUUID()}.${Crypto.randomBytes(32).toString("base64url")}`

/** Documentation-range and private addresses, a new one on every call (X-Forwarded-For behind TRUST_PROXY=1). */
export const addressPool = (prefix: string) => {
  let next = 0
  return () => {
    const n = next++
    return `${prefix}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`
  }
}

/** Password checks that failed for an email: each writes one `auth.login.failed` audit row. */
export const failedChecks = (email: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.login.failed' AND changes->>'email' = ${email}`
  ).pipe(Effect.map(([row]) => row?.n ?? 0), Effect.orDie)
