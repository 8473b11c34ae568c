/**
 * The load generator, a child process of bench/http.ts (fork, IPC): for each request it gets, C closed
 * loops, each on its own keep-alive connection (an undici Client, no pipelining), run for the warm-up,
 * then for the measured phase; latency of every answer in the measured phase; CPU time of the server,
 * PostgreSQL and this process around the measured phase. Refresh loops chain their own session's tokens.
 */
import { performance } from "node:perf_hooks"
import { Client } from "undici"
import { postgresCpuMs, processCpuMs } from "./Proc.ts"
import type { LoadFailure, LoadRequest, LoadResult } from "./Protocol.ts"
import { quantile, Recorder } from "./Recorder.ts"

const ownCpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const userAgent = "bench-http"

const run = async (request: LoadRequest): Promise<LoadResult> => {
  const { scenario, connections } = request
  const chains = [...request.tokens]
  const latencies = new Recorder()
  const statuses: Record<string, number> = {}
  let errors = 0
  let refreshed = 0
  let firstProblem: string | undefined
  let measuring = false
  let lastAnswer = 0

  const problem = (text: string) => {
    firstProblem ??= text
  }

  const options = (i: number) => {
    switch (scenario) {
      case "healthz":
        return { method: "GET" as const, path: "/healthz", headers: { "user-agent": userAgent } }
      case "sessions":
        return { method: "GET" as const, path: "/auth/sessions", headers: { "user-agent": userAgent, authorization: `Bearer ${chains[i]!}` } }
      case "refresh":
        return {
          method: "POST" as const,
          path: "/auth/refresh",
          headers: { "user-agent": userAgent, "content-type": "application/json" },
          body: JSON.stringify({ refreshToken: chains[i]! })
        }
    }
  }

  const start = performance.now()
  const warmEnd = start + request.warmupMs
  const stopAt = warmEnd + request.durationMs
  let measuredStart = warmEnd
  let cpuBefore = { server: 0, postgres: 0, load: 0 }
  // The measured phase starts on a timer while the loops keep the server busy: no gap, no drained queue.
  const begin = setTimeout(() => {
    measuredStart = performance.now()
    cpuBefore = { server: processCpuMs(request.serverPid), postgres: postgresCpuMs(request.postmasterPid), load: ownCpuMs() }
    measuring = true
  }, request.warmupMs)

  const loop = async (i: number) => {
    const client = new Client(request.origin, { pipelining: 1, keepAliveTimeout: 30_000 })
    try {
      while (performance.now() < stopAt) {
        const sentAt = performance.now()
        const recording = measuring
        let status: number
        try {
          const response = await client.request(options(i))
          status = response.statusCode
          if (scenario === "refresh" && status === 200) {
            const body = (await response.body.json()) as { readonly refreshToken?: unknown }
            if (typeof body.refreshToken !== "string") throw new Error("a 200 answer without refreshToken")
            chains[i] = body.refreshToken
            refreshed++
          } else if (status >= 300) {
            const text = await response.body.text()
            problem(`${status} ${text.slice(0, 200)}`)
          } else {
            await response.body.dump()
          }
        } catch (cause) {
          errors++
          problem(String(cause))
          // A refresh whose answer was lost leaves the chain unknown; other loops try again.
          if (scenario === "refresh") return
          continue
        }
        const now = performance.now()
        if (recording) {
          latencies.push(now - sentAt)
          statuses[status] = (statuses[status] ?? 0) + 1
          lastAnswer = now
        }
        // A refused refresh breaks the chain (the session may be revoked): this loop stops.
        if (scenario === "refresh" && status !== 200) return
      }
    } finally {
      await client.close().catch(() => client.destroy())
    }
  }

  await Promise.all(Array.from({ length: connections }, (_, i) => loop(i)))
  clearTimeout(begin)
  const cpuAfter = { server: processCpuMs(request.serverPid), postgres: postgresCpuMs(request.postmasterPid), load: ownCpuMs() }
  const sorted = latencies.sorted()
  const non2xx = Object.entries(statuses).reduce((sum, [status, count]) => (Number(status) >= 200 && Number(status) < 300 ? sum : sum + count), 0)
  return {
    type: "done",
    requests: sorted.length,
    seconds: measuring ? Math.max(lastAnswer, measuredStart) / 1000 - measuredStart / 1000 : 0,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    meanMs: sorted.length === 0 ? Number.NaN : sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length,
    non2xx,
    statuses,
    errors,
    firstProblem,
    refreshed,
    serverCpuMs: cpuAfter.server - cpuBefore.server,
    postgresCpuMs: cpuAfter.postgres - cpuBefore.postgres,
    loadCpuMs: cpuAfter.load - cpuBefore.load,
    tokens: chains
  }
}

const reply = (message: LoadResult | LoadFailure) => process.send?.(message)

process.on("message", (message: LoadRequest) => {
  run(message).then(reply, (cause: unknown) => reply({ type: "error", message: cause instanceof Error ? (cause.stack ?? cause.message) : String(cause) }))
})
// The benchmark went away (or was interrupted): nothing left to measure for.
process.once("disconnect", () => process.exit(0))
process.once("SIGINT", () => process.exit(130))
process.once("SIGTERM", () => process.exit(143))
