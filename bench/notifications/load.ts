/**
 * A socket load generator, a child process of bench/notifications.ts (fork, IPC); the benchmark runs
 * several, each with its own share of the sockets. It speaks the project's JSON protocol (project and bare
 * ws peer) with a `ws` client, or Socket.IO with `socket.io-client` (websocket transport only). It mints
 * its own access tokens (the benchmark's signing key, bench/http/Jwt.ts) before any timed phase, and
 * connects from its own range of loopback addresses (127.<20 + index>.0.1-250), so that neither the
 * ephemeral ports of one address nor TIME_WAIT limit the run. Receipts of `notification:new` are stamped
 * with the wall clock on arrival and kept raw; they are parsed only when the benchmark collects them, so
 * the receive path costs the same for every server.
 * Env: BENCH_LOADER_INDEX, BENCH_JWT_PEM, BENCH_JWT_ALG, BENCH_JWT_KID.
 */
import { performance } from "node:perf_hooks"
import { io as socketIo, type ManagerOptions, type SocketOptions } from "socket.io-client"
import { WebSocket } from "ws"
import * as Jwt from "../http/Jwt.ts"
import type { ClientKind, Credential, LoaderReply, LoaderRequest, Problem, Target } from "./Protocol.ts"
import { serveRequests, wallNow } from "./Protocol.ts"

const index = Number(process.env.BENCH_LOADER_INDEX ?? 0)
const keys = await Jwt.loadKeys(process.env.BENCH_JWT_PEM ?? "", Jwt.parseAlgorithm("BENCH_JWT_ALG", process.env.BENCH_JWT_ALG, "ES256"), process.env.BENCH_JWT_KID || undefined)
const handshakeTimeoutMs = 30_000

let addressCounter = 0
const nextLocalAddress = () => `127.${20 + index}.0.${(addressCounter++ % 250) + 1}`

const mint = (credentials: ReadonlyArray<Credential>) =>
  Promise.all(credentials.map((c) => Jwt.sign(keys, { userId: c.userId, organizationId: c.organizationId, sessionId: c.sessionId, role: c.role }).then((t) => t.token)))

// ---------------------------------------------------------------------------------------------
// Receipts: `notification:new` frames after the handshake, stamped on arrival, parsed on collect.

let receivedTimes: Array<number> = []
let receivedSockets: Array<number> = []
let receivedRaw: Array<Buffer | string> = []
let droppedCount = 0
let droppedFirst: string | undefined
let socketCounter = 0

const newMarker = Buffer.from("\"notification:new\"")

const titleOf = (raw: Buffer | string) => {
  if (typeof raw === "string") return raw
  try {
    const message = JSON.parse(raw.toString()) as { data?: { notification?: { title?: unknown } } }
    const title = message.data?.notification?.title
    return typeof title === "string" ? title : "(no title)"
  } catch {
    return "(not JSON)"
  }
}

const problem = () => {
  let count = 0
  let first: string | undefined
  return {
    add: (text: string) => {
      count++
      first ??= text
    },
    get: (): Problem => ({ count, first })
  }
}

// ---------------------------------------------------------------------------------------------
// One connection: resolves once `connected` and `notification:unread_count` have both arrived.

interface Held {
  close(): void
  readonly closed: Promise<void>
}

const wsOrigin = (origin: string) => origin.replace(/^http/, "ws")

const connectJson = (origin: string, token: string): Promise<Held> =>
  new Promise((resolve, reject) => {
    const socket = socketCounter++
    const ws = new WebSocket(`${wsOrigin(origin)}/ws/notifications`, { localAddress: nextLocalAddress(), perMessageDeflate: false, handshakeTimeout: handshakeTimeoutMs })
    let stage: 0 | 1 | 2 = 0
    let settled = false
    const closed = new Promise<void>((done) => ws.once("close", () => done()))
    const timer = setTimeout(() => fail(`no connected + unread count within ${handshakeTimeoutMs / 1000} s`), handshakeTimeoutMs)
    const fail = (why: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      ws.terminate()
      reject(new Error(why))
    }
    ws.on("open", () => ws.send(JSON.stringify({ event: "connect", data: { auth: { token } } })))
    ws.on("message", (raw: Buffer, isBinary) => {
      if (stage === 2) {
        if (!isBinary && raw.indexOf(newMarker) !== -1) {
          receivedTimes.push(wallNow())
          receivedSockets.push(socket)
          receivedRaw.push(raw)
        }
        return
      }
      let message: { event?: unknown; data?: { code?: unknown; message?: unknown } }
      try {
        message = JSON.parse(raw.toString()) as typeof message
      } catch {
        return fail(`a frame that is not JSON during the handshake: ${raw.toString().slice(0, 120)}`)
      }
      if (message.event === "connected") stage = 1
      else if (message.event === "notification:unread_count" && stage === 1) {
        stage = 2
        settled = true
        clearTimeout(timer)
        resolve({ close: () => ws.close(1000), closed })
      } else if (message.event === "error") fail(`error ${String(message.data?.code)}: ${String(message.data?.message)}`)
    })
    ws.on("error", (error) => fail(error.message))
    ws.on("close", (code, reason) => {
      if (!settled) fail(`closed ${code} ${reason.toString()} before the handshake completed`)
      else if (code !== 1000 && code !== 1005) {
        droppedCount++
        droppedFirst ??= `closed by the server: ${code} ${reason.toString()}`
      }
    })
  })

const connectSocketIo = (origin: string, token: string): Promise<Held> =>
  new Promise((resolve, reject) => {
    const socketNumber = socketCounter++
    // localAddress reaches the `ws` client of engine.io-client (its typings do not list it).
    const options: Partial<ManagerOptions & SocketOptions> & { readonly localAddress: string } = {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: handshakeTimeoutMs,
      auth: { token },
      localAddress: nextLocalAddress()
    }
    const socket = socketIo(origin, options)
    let stage: 0 | 1 | 2 = 0
    let settled = false
    let resolveClosed: () => void = () => undefined
    const closed = new Promise<void>((done) => (resolveClosed = done))
    const timer = setTimeout(() => fail(`no connected + unread count within ${handshakeTimeoutMs / 1000} s`), handshakeTimeoutMs)
    const fail = (why: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.disconnect()
      resolveClosed()
      reject(new Error(why))
    }
    socket.on("connect_error", (error: Error & { data?: unknown }) => fail(`connect_error ${error.message}${error.data === undefined ? "" : ` ${JSON.stringify(error.data)}`}`))
    socket.on("connected", () => {
      stage = 1
    })
    socket.on("notification:unread_count", () => {
      if (stage !== 1) return
      stage = 2
      settled = true
      clearTimeout(timer)
      // Closed once the engine's transport is: the server has seen the socket go.
      socket.io.once("close", () => resolveClosed())
      resolve({ close: () => socket.disconnect(), closed })
    })
    socket.on("notification:new", (data: { notification?: { title?: unknown } }) => {
      receivedTimes.push(wallNow())
      receivedSockets.push(socketNumber)
      const title = data?.notification?.title
      receivedRaw.push(typeof title === "string" ? title : "(no title)")
    })
    socket.on("error", (data: unknown) => fail(`error ${JSON.stringify(data)}`))
    socket.on("disconnect", (reason) => {
      if (!settled) fail(`disconnected (${reason}) before the handshake completed`)
      else if (reason !== "io client disconnect") {
        droppedCount++
        droppedFirst ??= `disconnected: ${reason}`
        resolveClosed()
      }
    })
  })

const connect = (kind: ClientKind, origin: string, token: string) => (kind === "json" ? connectJson(origin, token) : connectSocketIo(origin, token))

// ---------------------------------------------------------------------------------------------

const held: Array<Held> = []

const sortedOf = (values: Array<number>) => values.sort((a, b) => a - b)

let prepared: ReadonlyArray<string> = []

const connectRate = async (request: Extract<LoaderRequest, { type: "connectRate" }>): Promise<LoaderReply> => {
  const tokens = prepared
  prepared = []
  if (tokens.length === 0) throw new Error("connectRate without prepared tokens")
  const failures = problem()
  const latencies: Array<number> = []
  let next = 0
  let wrapped = false
  let completed = 0
  let total = 0
  const delay = request.startAt - wallNow()
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
  const loop = async (target: Target) => {
    while (wallNow() < request.windowEnd) {
      if (next >= tokens.length) {
        next = 0
        wrapped = true
      }
      const token = tokens[next++]!
      const startedAt = performance.now()
      try {
        const connection = await connect(target.kind, target.origin, token)
        const finishedAt = wallNow()
        total++
        if (finishedAt >= request.windowStart && finishedAt < request.windowEnd) {
          completed++
          latencies.push(performance.now() - startedAt)
        }
        connection.close()
      } catch (cause) {
        failures.add(cause instanceof Error ? cause.message : String(cause))
        // A server that refuses at once would spin this loop: pace failures.
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  }
  await Promise.all(Array.from({ length: request.concurrency }, () => loop(request.target)))
  return { type: "connectRate", id: request.id, completed, latencies: sortedOf(latencies), total, tokensUsed: wrapped ? tokens.length : next, wrapped, failures: failures.get() }
}

const openAll = async (request: Extract<LoaderRequest, { type: "open" }>): Promise<LoaderReply> => {
  const tokens = await mint(request.credentials)
  const failures = problem()
  const latencies: Array<number> = []
  const startedAt = performance.now()
  let next = 0
  const loop = async () => {
    while (next < tokens.length) {
      const token = tokens[next++]!
      const t0 = performance.now()
      try {
        held.push(await connect(request.target.kind, request.target.origin, token))
        latencies.push(performance.now() - t0)
      } catch (cause) {
        failures.add(cause instanceof Error ? cause.message : String(cause))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(request.concurrency, tokens.length) }, loop))
  return { type: "open", id: request.id, opened: latencies.length, failures: failures.get(), seconds: (performance.now() - startedAt) / 1000, latencies: sortedOf(latencies) }
}

const collect = (id: number): LoaderReply => {
  const titles: Record<string, { times: Array<number>; sockets: Set<number> }> = {}
  for (let i = 0; i < receivedTimes.length; i++) {
    const title = titleOf(receivedRaw[i]!)
    const entry = (titles[title] ??= { times: [], sockets: new Set() })
    entry.times.push(receivedTimes[i]!)
    entry.sockets.add(receivedSockets[i]!)
  }
  const dropped: Problem = { count: droppedCount, first: droppedFirst }
  receivedTimes = []
  receivedSockets = []
  receivedRaw = []
  droppedCount = 0
  droppedFirst = undefined
  return {
    type: "collect",
    id,
    titles: Object.fromEntries(Object.entries(titles).map(([title, entry]) => [title, { times: entry.times, sockets: entry.sockets.size }])),
    dropped,
    clockSkewMs: Math.abs(wallNow() - Date.now())
  }
}

const progress = (id: number): LoaderReply => ({ type: "progress", id, count: receivedTimes.length })

const closeAll = async (id: number): Promise<LoaderReply> => {
  const all = held.splice(0)
  for (const connection of all) connection.close()
  const done = await Promise.race([
    Promise.all(all.map((c) => c.closed)).then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))
  ])
  return { type: "closeAll", id, closed: all.length, open: done ? 0 : -1 }
}

const handle = (request: LoaderRequest): Promise<LoaderReply> | LoaderReply => {
  switch (request.type) {
    case "prepare":
      return mint(request.credentials).then((tokens): LoaderReply => {
        prepared = tokens
        return { type: "prepare", id: request.id, tokens: tokens.length }
      })
    case "connectRate":
      return connectRate(request)
    case "open":
      return openAll(request)
    case "progress":
      return progress(request.id)
    case "collect":
      return collect(request.id)
    case "closeAll":
      return closeAll(request.id)
  }
}

serveRequests<LoaderRequest, LoaderReply>(handle)
