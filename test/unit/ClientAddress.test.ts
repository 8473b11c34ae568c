import { assert, describe, it } from "@effect/vitest"
import type * as Http from "node:http"
import { addressOf } from "../../layers/ClientAddress.ts"

const request = (forwardedFor: string | undefined, socket = "10.0.0.5") =>
  ({ headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }, socket: { remoteAddress: socket } }) as unknown as Http.IncomingMessage

describe("the client address", () => {
  it("is the socket's when no proxy is trusted, whatever X-Forwarded-For says", () => {
    assert.strictEqual(addressOf(request("203.0.113.7"), 0), "10.0.0.5")
  })

  it("is the entry the one trusted proxy appended, not the first one the client wrote", () => {
    assert.strictEqual(addressOf(request("198.51.100.66, 203.0.113.7"), 1), "203.0.113.7")
  })

  it("behind two proxies is the second entry from the right", () => {
    assert.strictEqual(addressOf(request("198.51.100.66, 203.0.113.7, 10.0.0.9"), 2), "203.0.113.7")
  })

  it("falls back to the socket when the entry is not an IP address", () => {
    assert.strictEqual(addressOf(request("<script>alert(1)</script>"), 1), "10.0.0.5")
    assert.strictEqual(addressOf(request("203.0.113.7, not-an-ip"), 1), "10.0.0.5")
  })

  it("accepts IPv6 entries and uses the leftmost when fewer entries than trusted hops", () => {
    assert.strictEqual(addressOf(request("2001:db8::1"), 1), "2001:db8::1")
    assert.strictEqual(addressOf(request("203.0.113.7"), 2), "203.0.113.7")
  })

  it("falls back to the socket without the header", () => {
    assert.strictEqual(addressOf(request(undefined), 1), "10.0.0.5")
  })
})
