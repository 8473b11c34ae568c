import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { BaseUrl, createOrganization, InstanceTest, password, ServerTest, type TestUser, uniqueSlug } from "../support/TestApp.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

interface Reply {
  readonly status: number
  readonly headers: globalThis.Headers
  readonly text: string
}

const request = (baseUrl: string, method: string, path: string, json?: unknown) =>
  Effect.promise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { "user-agent": "vitest" }
    if (json !== undefined) headers["content-type"] = "application/json"
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const send = (method: string, path: string, json?: unknown) => Effect.flatMap(BaseUrl, (baseUrl) => request(baseUrl, method, path, json))

const login = (baseUrl: string, user: TestUser, pass: string) =>
  request(baseUrl, "POST", "/auth/login", { email: user.email, password: pass, organization: user.organization })

// ---------------------------------------------------------------------------------------------------
// A strict reader of the Prometheus text exposition format 0.0.4.

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

interface Family {
  readonly name: string
  readonly type: string
  readonly samples: Array<Sample>
}

interface Exposition {
  readonly families: ReadonlyMap<string, Family>
  /** Every line that breaks the format, with the reason. */
  readonly problems: ReadonlyArray<string>
}

const metricName = "[a-zA-Z_:][a-zA-Z0-9_:]*"
const labelPair = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`
const sampleLine = new RegExp(`^(${metricName})(?:\\{((?:${labelPair})(?:,${labelPair})*,?)?\\})? (\\S+)(?: (-?\\d+))?$`)
const labelPairGlobal = new RegExp(labelPair, "g")
const typeLine = new RegExp(`^# TYPE (${metricName}) (counter|gauge|histogram|summary|untyped)$`)
const helpLine = new RegExp(`^# HELP (${metricName})(?: .*)?$`)
// Go's strconv.ParseFloat, which Prometheus reads values with: NaN and Inf in any case (prom-client writes "Nan").
const floatValue = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity))$/i

/** The names a family's samples may carry, by type. */
const sampleNames = (family: Family): ReadonlyArray<string> => {
  switch (family.type) {
    case "histogram":
      return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`]
    case "summary":
      return [family.name, `${family.name}_sum`, `${family.name}_count`]
    default:
      return [family.name]
  }
}

const parseExposition = (text: string): Exposition => {
  const families = new Map<string, Family>()
  const problems: Array<string> = []
  const helped = new Set<string>()
  let current: Family | undefined
  if (!text.endsWith("\n")) problems.push("the exposition does not end with a line feed")
  text.split("\n").forEach((line, index) => {
    const at = `line ${index + 1} ${JSON.stringify(line)}`
    if (line === "") return
    if (line.startsWith("#")) {
      const type = typeLine.exec(line)
      if (type !== null) {
        const name = type[1]!
        const kind = type[2]!
        if (families.has(name)) problems.push(`${at}: a second # TYPE for ${name}`)
        current = { name, type: kind, samples: [] }
        families.set(name, current)
        return
      }
      const help = helpLine.exec(line)
      if (help !== null) {
        if (helped.has(help[1]!)) problems.push(`${at}: a second # HELP for ${help[1]}`)
        helped.add(help[1]!)
        return
      }
      if (line.startsWith("# TYPE") || line.startsWith("# HELP")) problems.push(`${at}: a malformed # TYPE or # HELP line`)
      return
    }
    const sample = sampleLine.exec(line)
    if (sample === null) return void problems.push(`${at}: not \`name{labels} value\``)
    const name = sample[1]!
    const rawValue = sample[sample.length - 2]!
    if (!floatValue.test(rawValue)) problems.push(`${at}: ${rawValue} is not a sample value`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (sample[2] ?? "").matchAll(labelPairGlobal)) {
      if (key! in labels) problems.push(`${at}: label ${key} twice`)
      labels[key!] = value!
    }
    // Samples follow the # TYPE of their family, all together: a sample of another name has none.
    if (current === undefined || !sampleNames(current).includes(name)) {
      return void problems.push(`${at}: no # TYPE line for ${name} before it`)
    }
    if (current.type === "histogram" && name.endsWith("_bucket") && labels.le === undefined) problems.push(`${at}: a bucket without le`)
    current.samples.push({ name, labels, value: Number(rawValue.toLowerCase().replace(/inf(inity)?$/, "Infinity").replace("nan", "NaN")) })
  })
  return { families, problems }
}

/** The value of the one sample of `name` whose labels are exactly `labels`, or undefined. */
const valueOf = (exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}) => {
  const family = exposition.families.get(name)
  const matching = (family?.samples ?? []).filter(
    (sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === JSON.stringify(Object.entries(labels).sort())
  )
  assert.isAtMost(matching.length, 1, `${name} ${JSON.stringify(labels)} is exposed more than once`)
  return matching[0]?.value
}

const scrape = (baseUrl: string) =>
  Effect.map(request(baseUrl, "GET", "/metrics"), (reply) => {
    assert.strictEqual(reply.status, 200, reply.text)
    const exposition = parseExposition(reply.text)
    assert.deepStrictEqual(exposition.problems, [])
    return exposition
  })

const scrapeHere = Effect.flatMap(BaseUrl, scrape)

/** /readyz reports the database and the listener up (polled in real time: the listener connects on its own). */
const ready = Effect.flatMap(BaseUrl, (baseUrl) =>
  Effect.promise(async () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const reply = await fetch(`${baseUrl}/readyz`)
      if (reply.status === 200) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.fail("/readyz did not answer 200 within 5 s")
  })
)

// ---------------------------------------------------------------------------------------------------
// A local OTLP/HTTP receiver.

interface OtlpSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes?: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }>
}

interface OtlpExport {
  readonly resourceSpans: ReadonlyArray<{ readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }> }>
}

interface Receiver {
  readonly endpoint: string
  /** Every span received so far. */
  readonly spans: () => ReadonlyArray<OtlpSpan>
  /** Every request received so far, other than a JSON POST to /v1/traces. */
  readonly strays: () => ReadonlyArray<string>
}

/** An HTTP server on 127.0.0.1 that records the spans POSTed to /v1/traces as OTLP JSON; closed with the scope. */
const otlpReceiver = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly receiver: Receiver }>((resume) => {
    const spans: Array<OtlpSpan> = []
    const strays: Array<string> = []
    const server = Http.createServer((req, res) => {
      let body = ""
      req.setEncoding("utf8")
      req.on("data", (chunk: string) => (body += chunk))
      req.on("end", () => {
        if (req.method === "POST" && req.url === "/v1/traces" && (req.headers["content-type"] ?? "").startsWith("application/json")) {
          const data = JSON.parse(body) as OtlpExport
          for (const resource of data.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans)
        } else strays.push(`${req.method} ${req.url} ${req.headers["content-type"]}`)
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      resume(Effect.succeed({ server, receiver: { endpoint: `http://127.0.0.1:${port}`, spans: () => [...spans], strays: () => [...strays] } }))
    })
  }),
  ({ server }) => Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })
).pipe(Effect.map(({ receiver }) => receiver))

const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((entry) => entry.key === key)?.value.stringValue

/** Polls `find` over the received spans every 100 ms for up to `seconds`. */
const eventually = <A>(receiver: Receiver, find: (spans: ReadonlyArray<OtlpSpan>) => A | undefined, seconds: number) =>
  Effect.suspend(() => {
    const found = find(receiver.spans())
    return found === undefined ? Effect.fail("not yet" as const) : Effect.succeed(found)
  }).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(seconds)))),
    Effect.orElse(() => Effect.succeed(undefined))
  )

/** The login's request span and the Sessions.login span of the same trace. */
const loginTrace = (spans: ReadonlyArray<OtlpSpan>) => {
  for (const request of spans) {
    if (request.name !== "http.server POST" || attribute(request, "url.path") !== "/auth/login") continue
    const login = spans.find((span) => span.name === "Sessions.login" && span.traceId === request.traceId)
    if (login !== undefined) return { request, login }
  }
  return undefined
}

/** An instance (with its base URL) over `url`, built in the caller's scope. */
const instance = (url: Parameters<typeof InstanceTest>[0], overrides: Readonly<Record<string, string>> = {}) =>
  Effect.map(Layer.build(InstanceTest(url, overrides)), (context) => ({ context, baseUrl: Context.get(context, BaseUrl) }))

// ---------------------------------------------------------------------------------------------------

describe("observability", () => {
  it.layer(ServerTest(), { timeout: 60_000 })((it) => {
    it.effect("GET /metrics is Prometheus text exposition 0.0.4 with a # TYPE for every sample", () =>
      Effect.gen(function* () {
        const reply = yield* send("GET", "/metrics")
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        const exposition = parseExposition(reply.text)
        assert.deepStrictEqual(exposition.problems, [])
        assert.isAbove(exposition.families.size, 10)
      }))

    it.effect("http_requests_total counts the answers sent, by method and status", () =>
      Effect.gen(function* () {
        yield* send("GET", "/healthz")
        yield* send("DELETE", "/no/such/route")
        const exposition = yield* scrapeHere
        assert.strictEqual(exposition.families.get("http_requests_total")?.type, "counter")
        assert.isAtLeast(valueOf(exposition, "http_requests_total", { method: "GET", status: "200" }) ?? 0, 1)
        assert.strictEqual(valueOf(exposition, "http_requests_total", { method: "DELETE", status: "404" }), 1)
      }))

    it.effect("auth_logins_total counts a failed login under its outcome", () =>
      Effect.gen(function* () {
        const baseUrl = yield* BaseUrl
        const { users } = yield* createOrganization(uniqueSlug("metrics"))
        const before = valueOf(yield* scrapeHere, "auth_logins_total", { outcome: "INVALID_CREDENTIALS" }) ?? 0
        assert.strictEqual((yield* login(baseUrl, users.VIEWER, "not the password")).status, 401)
        const after = yield* scrapeHere
        assert.strictEqual(after.families.get("auth_logins_total")?.type, "counter")
        assert.strictEqual(valueOf(after, "auth_logins_total", { outcome: "INVALID_CREDENTIALS" }), before + 1)
      }))

    it.effect("eventbus_listener_connected is 1 while the instance listens", () =>
      Effect.gen(function* () {
        yield* ready
        const exposition = yield* scrapeHere
        assert.strictEqual(exposition.families.get("eventbus_listener_connected")?.type, "gauge")
        assert.strictEqual(valueOf(exposition, "eventbus_listener_connected"), 1)
      }))

    it.effect("prom-client's default process and Node.js metrics are exposed", () =>
      Effect.gen(function* () {
        const exposition = yield* scrapeHere
        for (const name of ["process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) {
          assert.strictEqual(exposition.families.get(name)?.type, "gauge", name)
          assert.isAbove(valueOf(exposition, name) ?? 0, 0, name)
        }
      }))
  })

  it.scopedLive("a failed login on instance A counts in A's auth_logins_total and not in B's", () =>
    Effect.gen(function* () {
      const url = yield* scopedDatabase()
      const a = yield* instance(url)
      const b = yield* instance(url)
      const { users } = yield* createOrganization(uniqueSlug("counted")).pipe(Effect.provide(a.context))
      const invalid = { outcome: "INVALID_CREDENTIALS" }
      assert.strictEqual((yield* login(a.baseUrl, users.VIEWER, "not the password")).status, 401)
      assert.strictEqual(valueOf(yield* scrape(a.baseUrl), "auth_logins_total", invalid), 1)
      assert.strictEqual(valueOf(yield* scrape(b.baseUrl), "auth_logins_total", invalid) ?? 0, 0)
    }), 60_000)

  it.scopedLive("each of two instances in one process counts only its own HTTP requests", () =>
    Effect.gen(function* () {
      const url = yield* scopedDatabase()
      const a = yield* instance(url)
      const b = yield* instance(url)
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* request(a.baseUrl, "GET", "/no/such/route")).status, 404)
      assert.strictEqual((yield* request(b.baseUrl, "PUT", "/no/such/route")).status, 404)
      const notFoundOnA = { method: "GET", status: "404" }
      const notFoundOnB = { method: "PUT", status: "404" }
      const scrapedA = yield* scrape(a.baseUrl)
      const scrapedB = yield* scrape(b.baseUrl)
      assert.strictEqual(valueOf(scrapedA, "http_requests_total", notFoundOnA), 3)
      assert.strictEqual(valueOf(scrapedA, "http_requests_total", notFoundOnB) ?? 0, 0)
      assert.strictEqual(valueOf(scrapedB, "http_requests_total", notFoundOnB), 1)
      assert.strictEqual(valueOf(scrapedB, "http_requests_total", notFoundOnA) ?? 0, 0)
    }), 60_000)

  it.scopedLive("with OTEL_EXPORTER_OTLP_ENDPOINT a login over HTTP exports its request span and Sessions.login in one trace", () =>
    Effect.gen(function* () {
      const receiver = yield* otlpReceiver
      const url = yield* scopedDatabase()
      const traced = yield* instance(url, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint })
      const { users } = yield* createOrganization(uniqueSlug("traced")).pipe(Effect.provide(traced.context))
      assert.strictEqual((yield* login(traced.baseUrl, users.VIEWER, password)).status, 200)
      const found = yield* eventually(receiver, loginTrace, 5)
      assert.isDefined(found, `spans received: ${JSON.stringify(receiver.spans().map((span) => span.name))}`)
      assert.match(found!.request.traceId, /^[0-9a-f]{32}$/)
      assert.strictEqual(found!.login.traceId, found!.request.traceId)
      assert.notStrictEqual(found!.login.spanId, found!.request.spanId)
      assert.deepStrictEqual(receiver.strays(), [])
    }), 60_000)

  it.scopedLive("an instance without OTEL_EXPORTER_OTLP_ENDPOINT exports no span, even beside one that exports", () =>
    Effect.gen(function* () {
      const receiver = yield* otlpReceiver
      const url = yield* scopedDatabase()
      const traced = yield* instance(url, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint })
      const untraced = yield* instance(url)
      const { users } = yield* createOrganization(uniqueSlug("untraced")).pipe(Effect.provide(untraced.context))
      assert.strictEqual((yield* login(untraced.baseUrl, users.VIEWER, password)).status, 200)
      // A later request on the exporting instance: once its span is out, anything that was queued before it is too.
      assert.strictEqual((yield* request(traced.baseUrl, "GET", "/healthz")).status, 200)
      const marker = yield* eventually(receiver, (spans) => spans.find((span) => span.name === "http.server GET" && attribute(span, "url.path") === "/healthz"), 5)
      assert.isDefined(marker, `spans received: ${JSON.stringify(receiver.spans().map((span) => span.name))}`)
      const leaked = receiver.spans().filter((span) => span.name === "Sessions.login" || attribute(span, "url.path") === "/auth/login")
      assert.deepStrictEqual(leaked.map((span) => span.name), [])
    }), 60_000)
})
