import { RpcMessage, RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Mailbox, Runtime } from "effect"
import type { WebSocket } from "ws"

/** Per-client bounds of the RPC server (README: Configuration). */
export interface RpcLimits {
  /** Calls of one client (one HTTP body, one socket) handled at a time; the rest wait their turn. */
  readonly maxInFlight: number
  /** Calls of one socket waiting their turn before the socket is closed 4429. */
  readonly maxQueued: number
  /** Bytes queued for a socket that does not read before it is closed 4503 SLOW_CONSUMER. */
  readonly maxBufferedBytes: number
  /** A socket that has made no authenticated call by then is closed 4401. */
  readonly authDeadlineMs: number
}

type FromClient = RpcMessage.FromClientEncoded
type FromServer = RpcMessage.FromServerEncoded

/**
 * The key under which the server will answer a request with an Exit, or undefined when it answers with
 * a bare Defect instead (an unknown tag, an id that is not a number): such a request must not hold a
 * slot, since no Exit will ever free it. The server reads ids as bigints ("007" is answered as "7").
 */
const exitKey = (message: FromClient, tags: ReadonlySet<string>): string | undefined => {
  if (message._tag !== "Request" || !tags.has(message.tag)) return undefined
  try {
    return String(BigInt(message.id))
  } catch {
    return undefined
  }
}

interface SocketClient {
  readonly id: number
  readonly ws: WebSocket
  readonly headers: ReadonlyArray<[string, string]>
  readonly inFlight: Set<string>
  readonly waiting: Array<FromClient>
  readonly openedAt: number
  authenticated: boolean
  closing: boolean
}

/** Closes a socket with a code; one that does not finish the close handshake within 5 s is dropped. */
export const closeSocket = (ws: WebSocket, code: number, reason: string) => {
  ws.close(code, reason)
  setTimeout(() => ws.terminate(), 5_000).unref()
}

/**
 * The RPC protocol over the `ws` sockets layers/SocketsLive.ts upgrades (the platform's socket protocol
 * forks a fiber per incoming message and writes without looking at what is queued: 20,000 pipelined
 * calls from a client that never reads took the process past 1 GB). Here a client has at most
 * `maxInFlight` calls running; further ones wait in a bounded list while the socket stops being read
 * (ws pause: TCP pushes back on the client); more than `maxQueued` waiting closes it 4429; a client that
 * leaves more than `maxBufferedBytes` unread is closed 4503; one that authenticates no call within
 * `authDeadlineMs` is closed 4401 (one sweep per instance, no timer per socket). A message that cannot
 * be decoded is answered with the protocol's own defect message; the socket stays open.
 */
export const makeRpcSocketProtocol = (limits: RpcLimits, tags: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const serialization = yield* RpcSerialization.RpcSerialization
    const disconnects = yield* Mailbox.make<number>()
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const clients = new Map<number, SocketClient>()
    const clientIds = new Set<number>()
    const parser = serialization.unsafeMake()
    let nextId = 0
    let writeRequest: ((clientId: number, message: FromClient) => Effect.Effect<void>) | undefined

    const encode = (message: FromServer): string | Uint8Array | undefined => {
      try {
        return parser.encode(message)
      } catch (cause) {
        return parser.encode(RpcMessage.ResponseDefectEncoded(cause))
      }
    }

    const write = (client: SocketClient, message: FromServer) => {
      if (client.closing) return
      if (client.ws.bufferedAmount > limits.maxBufferedBytes) {
        client.closing = true
        return closeSocket(client.ws, 4503, "SLOW_CONSUMER")
      }
      const encoded = encode(message)
      if (encoded !== undefined) client.ws.send(encoded)
    }

    const deliver = (client: SocketClient, message: FromClient) => {
      if (message._tag === "Request") {
        const key = exitKey(message, tags)
        if (key !== undefined) client.inFlight.add(key)
        ;(message as { headers: ReadonlyArray<[string, string]> }).headers = client.headers.concat(Array.isArray(message.headers) ? message.headers : [])
      }
      if (writeRequest !== undefined) runFork(writeRequest(client.id, message))
    }

    /** Hands waiting calls over as calls finish; reads the socket again once the backlog is small. */
    const pump = (client: SocketClient) => {
      while (client.waiting.length > 0 && client.inFlight.size < limits.maxInFlight) deliver(client, client.waiting.shift()!)
      if (client.ws.isPaused && client.waiting.length < limits.maxQueued / 2) client.ws.resume()
    }

    const onMessage = (client: SocketClient, data: Buffer | ArrayBuffer | Array<Buffer>, isBinary: boolean) => {
      let decoded: ReadonlyArray<FromClient>
      try {
        const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
        decoded = parser.decode(isBinary ? new Uint8Array(raw) : raw.toString("utf8")) as ReadonlyArray<FromClient>
      } catch (cause) {
        return write(client, RpcMessage.ResponseDefectEncoded(cause))
      }
      for (const message of decoded) {
        if (exitKey(message, tags) === undefined || client.inFlight.size < limits.maxInFlight) {
          deliver(client, message)
          continue
        }
        client.waiting.push(message)
        if (client.waiting.length > limits.maxQueued) {
          client.closing = true
          return closeSocket(client.ws, 4429, "RATE_LIMITED")
        }
        if (!client.ws.isPaused) client.ws.pause()
      }
    }

    /** Serves one upgraded socket; `headers` are the upgrade request's, merged under each call's own. */
    const attach = (ws: WebSocket, headers: ReadonlyArray<[string, string]>) => {
      const client: SocketClient = { id: nextId++, ws, headers, inFlight: new Set(), waiting: [], openedAt: Date.now(), authenticated: false, closing: false }
      clients.set(client.id, client)
      clientIds.add(client.id)
      ws.on("message", (data, isBinary) => onMessage(client, data, isBinary))
      ws.once("close", () => {
        clients.delete(client.id)
        clientIds.delete(client.id)
        client.waiting.length = 0
        runFork(disconnects.offer(client.id))
      })
    }

    /** One sweep per instance: sockets still unauthenticated past the deadline are closed. */
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        setInterval(() => {
          const cutoff = Date.now() - limits.authDeadlineMs
          for (const client of clients.values()) {
            if (!client.authenticated && !client.closing && client.openedAt <= cutoff) {
              client.closing = true
              closeSocket(client.ws, 4401, "UNAUTHORIZED")
            }
          }
        }, Math.min(1_000, limits.authDeadlineMs))),
      (timer) => Effect.sync(() => clearInterval(timer))
    )

    const protocol = yield* RpcServer.Protocol.make((writeRequest_) => {
      writeRequest = writeRequest_
      return Effect.succeed({
        disconnects,
        send: (clientId, response) =>
          Effect.sync(() => {
            const client = clients.get(clientId)
            if (client === undefined) return
            write(client, response)
            if (response._tag === "Exit") {
              client.inFlight.delete(response.requestId)
              pump(client)
            }
          }),
        end: () => Effect.void,
        clientIds: Effect.sync(() => clientIds),
        initialMessage: Effect.succeedNone,
        supportsAck: true,
        supportsTransferables: false,
        supportsSpanPropagation: true
      })
    })

    return {
      protocol,
      attach,
      /** A call of this client passed authentication: the deadline no longer applies. */
      markAuthenticated: (clientId: number) =>
        Effect.sync(() => {
          const client = clients.get(clientId)
          if (client !== undefined) client.authenticated = true
        })
    }
  })

/**
 * The HTTP protocol (POST /rpc, one client per body) with at most `maxInFlight` calls of one body
 * handled at a time: the protocol hands the body's calls over one after another, and the next waits
 * for a permit, released when a call's Exit goes out.
 */
export const boundedPerClient = (protocol: RpcServer.Protocol["Type"], maxInFlight: number, tags: ReadonlySet<string>): RpcServer.Protocol["Type"] => {
  const permits = new Map<number, { readonly semaphore: Effect.Semaphore; users: number }>()
  const acquire = (clientId: number) =>
    Effect.suspend(() => {
      let entry = permits.get(clientId)
      if (entry === undefined) {
        entry = { semaphore: Effect.unsafeMakeSemaphore(maxInFlight), users: 0 }
        permits.set(clientId, entry)
      }
      entry.users++
      return entry.semaphore.take(1)
    })
  const release = (clientId: number) =>
    Effect.suspend(() => {
      const entry = permits.get(clientId)
      if (entry === undefined) return Effect.void
      if (--entry.users === 0) permits.delete(clientId)
      return entry.semaphore.release(1)
    })
  return {
    ...protocol,
    run: (f) => protocol.run((clientId, message) => (exitKey(message, tags) !== undefined ? Effect.zipRight(acquire(clientId), f(clientId, message)) : f(clientId, message))),
    send: (clientId, response, transferables) =>
      Effect.zipRight(response._tag === "Exit" ? release(clientId) : Effect.void, protocol.send(clientId, response, transferables))
  }
}
