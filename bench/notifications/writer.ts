/**
 * The HTTP writer, a child process of bench/notifications.ts (fork, IPC): POST /notifications with an
 * ADMIN's access token, one at a time for the fan-out bursts, or open loop at a steady rate for the
 * targeted phase (undici Pool, keep-alive). Send times are wall-clock ms (performance.timeOrigin + now),
 * the clock the load generators stamp receipts with.
 */
import { performance } from "node:perf_hooks"
import { Pool } from "undici"
import { type Problem, serveRequests, wallNow, type WriterReply, type WriterRequest } from "./Protocol.ts"

const pools = new Map<string, Pool>()
const poolFor = (origin: string, connections: number) => {
  const key = `${origin} ${connections}`
  let pool = pools.get(key)
  if (pool === undefined) pools.set(key, (pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 })))
  return pool
}

const post = async (pool: Pool, token: string, body: unknown) => {
  const response = await pool.request({
    method: "POST",
    path: "/notifications",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "user-agent": "bench-notifications" },
    body: JSON.stringify(body)
  })
  return { status: response.statusCode, text: await response.body.text() }
}

const one = async (request: Extract<WriterRequest, { type: "post" }>): Promise<WriterReply> => {
  const pool = poolFor(request.origin, 4)
  const sentAt = wallNow()
  const { status, text } = await post(pool, request.token, request.body)
  return { type: "post", id: request.id, status, body: text, sentAt, answeredAt: wallNow() }
}

const firstId = (text: string) => {
  try {
    const ids = (JSON.parse(text) as { ids?: unknown }).ids
    return Array.isArray(ids) && typeof ids[0] === "string" ? ids[0] : ""
  } catch {
    return ""
  }
}

const targeted = async (request: Extract<WriterRequest, { type: "targeted" }>): Promise<WriterReply> => {
  const pool = poolFor(request.origin, request.connections)
  const total = Math.max(1, Math.round((request.rate * request.durationMs) / 1000))
  const intervalMs = 1000 / request.rate
  const ids: Array<string> = Array.from({ length: total }, () => "")
  const statuses: Record<string, number> = {}
  const postLatencies: Array<number> = []
  let errorCount = 0
  let firstError: string | undefined
  let ok = 0
  let sent = 0
  let answered = 0
  let stoppedEarly = false
  // A server (or database) that falls this far behind gets no more requests: the phase stays bounded in time.
  const maxBacklog = Math.max(100, request.rate * 5)
  let maxLagMs = 0
  const inFlight: Array<Promise<void>> = []
  const start = performance.now()

  const send = (seq: number) => {
    const sentAt = wallNow()
    const t0 = performance.now()
    const userId = request.userIds[Math.floor(Math.random() * request.userIds.length)]!
    const body = { userId, title: `${request.prefix}${seq} ${sentAt.toFixed(3)}`, body: "targeted notification from bench/notifications" }
    return post(pool, request.token, body).then(
      ({ status, text }) => {
        answered++
        postLatencies.push(performance.now() - t0)
        statuses[status] = (statuses[status] ?? 0) + 1
        if (status >= 200 && status < 300) {
          ok++
          ids[seq] = firstId(text)
        } else {
          errorCount++
          firstError ??= `${status} ${text.slice(0, 200)}`
        }
      },
      (cause: unknown) => {
        answered++
        errorCount++
        firstError ??= String(cause)
      }
    )
  }

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      if (sent - answered > maxBacklog) stoppedEarly = true
      while (!stoppedEarly && sent < total && start + sent * intervalMs <= now) {
        maxLagMs = Math.max(maxLagMs, now - (start + sent * intervalMs))
        inFlight.push(send(sent))
        sent++
      }
      if (sent >= total || stoppedEarly) {
        clearInterval(timer)
        resolve()
      }
    }
    const timer = setInterval(tick, 1)
  })
  const seconds = (performance.now() - start) / 1000
  await Promise.all(inFlight)
  const errors: Problem = { count: errorCount, first: firstError }
  return {
    type: "targeted",
    id: request.id,
    sent,
    ok,
    statuses,
    errors,
    postLatencies: postLatencies.sort((a, b) => a - b),
    ids,
    maxLagMs,
    seconds,
    planned: total
  }
}

const handle = (request: WriterRequest) => (request.type === "post" ? one(request) : targeted(request))

serveRequests<WriterRequest, WriterReply>(handle)
