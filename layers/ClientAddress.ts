import { Config, ConfigError, Either } from "effect"
import * as Crypto from "node:crypto"
import type * as Http from "node:http"
import * as Net from "node:net"
import type { ClientInfo } from "../src/domain/Auth.ts"

/**
 * Where a request came from, stamped by the server into the request's headers under names that are
 * random per process, then read by HTTP handlers and RPC procedures alike. RPC merges a call's own
 * headers over the request's (the call's win): with names a client could know, it could choose its own
 * address for rate limits and the audit log, and its own user agent.
 */
const addressHeader = `x-casecore-client-address-${Crypto.randomBytes(16).toString("hex")}`
const userAgentHeader = `x-casecore-client-agent-${Crypto.randomBytes(16).toString("hex")}`

/**
 * TRUST_PROXY: how many proxies you run in front of the server (0: none, the default). Each appends the
 * address it was reached from to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for), so everything
 * left of the last N entries was written by the client. `true` means 1, `false` 0.
 */
export const trustProxyConfig = Config.string("TRUST_PROXY").pipe(
  Config.withDefault("0"),
  Config.mapOrFail((text) => {
    const value = text.trim().toLowerCase()
    const hops = value === "true" ? 1 : value === "false" ? 0 : Number(value)
    return Number.isInteger(hops) && hops >= 0 && hops <= 10
      ? Either.right(hops)
      : Either.left(ConfigError.InvalidData(["TRUST_PROXY"], "expected the number of proxies in front of the server (0 to 10)"))
  })
)

/**
 * The client address of a request: the one the nearest untrusted hop gave (the N-th X-Forwarded-For
 * entry from the right, behind N trusted proxies), when it is an IP address; else the socket's.
 */
export const addressOf = (request: Http.IncomingMessage, trustedHops: number) => {
  const socketAddress = request.socket.remoteAddress ?? "unknown"
  if (trustedHops === 0) return socketAddress
  const header = request.headers["x-forwarded-for"]
  const entries = (Array.isArray(header) ? header.join(",") : header ?? "").split(",").map((entry) => entry.trim()).filter((entry) => entry !== "")
  const candidate = entries[entries.length - trustedHops] ?? entries[0]
  return candidate !== undefined && Net.isIP(candidate) !== 0 ? candidate : socketAddress
}

/** Stamps the address and user agent into the request's own headers, before any handler sees them. */
export const stampClient = (request: Http.IncomingMessage, trustProxy: number) => {
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
