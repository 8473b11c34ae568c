import { Config } from "effect"
import * as Crypto from "node:crypto"
import type * as Http from "node:http"
import type { ClientInfo } from "../src/domain/Auth.ts"

/**
 * Where a request came from, stamped by the server into the request's headers under names that are
 * random per process, then read by HTTP handlers and RPC procedures alike. RPC merges a call's own
 * headers over the request's (the call's win): with names a client could know, it could choose its own
 * address for rate limits and the audit log, and its own user agent.
 */
const addressHeader = `x-casecore-client-address-${Crypto.randomBytes(16).toString("hex")}`
const userAgentHeader = `x-casecore-client-agent-${Crypto.randomBytes(16).toString("hex")}`

/** TRUST_PROXY: take the client address from X-Forwarded-For (only behind a proxy you run). */
export const trustProxyConfig = Config.boolean("TRUST_PROXY").pipe(Config.withDefault(false))

/** The client address of a request: the socket's, or the first X-Forwarded-For hop when trusted. */
const addressOf = (request: Http.IncomingMessage, trustProxy: boolean) => {
  const forwarded = trustProxy ? request.headers["x-forwarded-for"] : undefined
  const first = typeof forwarded === "string" ? forwarded.split(",")[0]?.trim() : undefined
  return first || request.socket.remoteAddress || "unknown"
}

/** Stamps the address and user agent into the request's own headers, before any handler sees them. */
export const stampClient = (request: Http.IncomingMessage, trustProxy: boolean) => {
  request.headers[addressHeader] = addressOf(request, trustProxy)
  request.headers[userAgentHeader] = request.headers["user-agent"] ?? ""
}

export const clientInfoFromHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>): ClientInfo => {
  const address = headers[addressHeader]
  const agent = headers[userAgentHeader]
  return {
    ip: typeof address === "string" ? address : "unknown",
    userAgent: typeof agent === "string" && agent !== "" ? agent : undefined
  }
}
