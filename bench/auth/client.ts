/**
 * The HTTP client of bench/auth.ts, a separate process (child_process.fork, IPC), so that the client's
 * JavaScript never runs on the server's event loop. For each `run` it gets: one closed loop per client,
 * each on its own keep-alive connection (an undici Client, no pipelining) bound to its own local address,
 * doing `POST /auth/login` or `POST /auth/refresh` back to back for the phase; it answers with every
 * latency, its own CPU and event-loop time, and (refresh) the token each chain holds at the end.
 */
import { performance } from "node:perf_hooks"
import { Client } from "undici"
import type { ClientMessage, RunRequest, RunResult } from "./Protocol.ts"

const userAgent = "bench-auth"
/** Connections stay open from run to run: one per origin and local address. */
const connections = new Map<string, Client>()

const connection = (origin: string, localAddress: string) => {
  const key = `${origin} ${localAddress}`
  let client = connections.get(key)
  if (client === undefined) {
    client = new Client(origin, { localAddress, pipelining: 1, keepAliveTimeout: 60_000 })
    connections.set(key, client)
  }
  return client
}

const cpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const run = async (request: RunRequest): Promise<RunResult> => {
  const clients = request.scenario === "refresh" ? request.refreshTokens?.length ?? 0 : request.logins?.length ?? 0
  if (clients === 0 || request.localAddresses.length < clients) throw new Error(`run ${request.scenario}: no clients, or fewer local addresses than clients`)
  const chains = [...(request.refreshTokens ?? [])]
  const latencies: Array<number> = []
  let answers = 0
  let firstProblem: string | undefined

  const body = (i: number) =>
    request.scenario === "refresh" ? JSON.stringify({ refreshToken: chains[i]! }) : JSON.stringify(request.logins![i]!)
  const path = request.scenario === "refresh" ? "/auth/refresh" : "/auth/login"

  const cpuBefore = cpuMs()
  const elu = performance.eventLoopUtilization()
  const start = performance.now()
  const stopAt = start + request.durationMs
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const client = connection(request.origin, request.localAddresses[i]!)
      while (performance.now() < stopAt && firstProblem === undefined) {
        const opStart = performance.now()
        let status: number
        let text: string
        try {
          const response = await client.request({
            method: "POST",
            path,
            headers: { "content-type": "application/json", "user-agent": userAgent },
            body: body(i)
          })
          status = response.statusCode
          text = await response.body.text()
        } catch (error) {
          firstProblem ??= `client ${i}: ${error instanceof Error ? error.message : String(error)}`
          return
        }
        const now = performance.now()
        if (status !== 200) {
          firstProblem ??= `client ${i}: POST ${path} answered ${status} ${text.slice(0, 300)}`
          return
        }
        if (request.scenario === "refresh") {
          const next = (JSON.parse(text) as { readonly refreshToken?: unknown }).refreshToken
          if (typeof next !== "string") {
            firstProblem ??= `client ${i}: POST ${path} answered 200 without a refreshToken`
            return
          }
          chains[i] = next
        }
        answers++
        if (request.record) latencies.push(now - opStart)
      }
    })
  )
  const end = performance.now()
  const busy = performance.eventLoopUtilization(elu)
  return {
    type: "done",
    latencies,
    seconds: (end - start) / 1000,
    answers,
    cpuMs: cpuMs() - cpuBefore,
    busyMs: busy.active,
    refreshTokens: chains,
    firstProblem
  }
}

const reply = (message: ClientMessage) => process.send!(message)

process.on("message", (message: RunRequest) => {
  run(message).then(reply, (error: unknown) => reply({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) }))
})
// The benchmark's end (or its death) closes the channel: leave with it.
process.on("disconnect", () => {
  for (const client of connections.values()) void client.destroy()
  process.exit(0)
})
