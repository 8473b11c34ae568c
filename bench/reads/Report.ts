import type { PeerName } from "./Peers.ts"

export interface Measurement {
  readonly round: number
  readonly size: number
  readonly variant: PeerName
  readonly order: string
  readonly samples: ReadonlyArray<number>
  readonly statementsPerOp: number
  readonly nodeCpuMsPerOp: number
  readonly postgresCpuMsPerOp: number
}

export interface ScatteredMeasurement {
  readonly round: number
  readonly variant: string
  readonly lookups: number
  readonly samples: ReadonlyArray<number>
  readonly statementsPerOp: number
  readonly nodeCpuMsPerOp: number
}

export interface Facts {
  readonly date: string
  readonly machine: string
  readonly loadAverage: string
  readonly database: string
  readonly poolMax: number
  readonly rounds: number
  readonly measureMs: number
  readonly warmupMs: number
  readonly shape: Readonly<Record<string, number>>
  readonly sizes: ReadonlyArray<number>
  readonly variants: ReadonlyArray<PeerName>
  readonly measurements: ReadonlyArray<Measurement>
  readonly scattered: ReadonlyArray<ScatteredMeasurement>
  readonly scatteredSize: number
  readonly jsonAggSql: string
}

export const labels: Readonly<Record<PeerName, string>> = {
  naive: "naive N+1",
  resolvers: "**resolvers** (Loaders: `SqlResolver.grouped`, coarse requests)",
  dataloader: "`dataloader` 2.2.3",
  setBased: "hand-written set-based `= ANY`",
  jsonAgg: "one `json_agg` statement (reference)"
}

export const median = (values: ReadonlyArray<number>) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const ms = (value: number) => (Number.isNaN(value) ? "–" : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2))
const ratio = (value: number) => (Number.isNaN(value) ? "–" : `${value.toFixed(2)}×`)
const count = (value: number) => (Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(1))

const targets: ReadonlyArray<{ readonly size: number; readonly max: number }> = [
  { size: 100, max: 1.25 },
  { size: 500, max: 0.9 }
]

export const report = (facts: Facts) => {
  const of = (variant: PeerName, size: number) => facts.measurements.filter((m) => m.variant === variant && m.size === size)
  const roundMedian = (variant: PeerName, size: number, round: number) =>
    median(facts.measurements.find((m) => m.variant === variant && m.size === size && m.round === round)?.samples ?? [])
  /** Median over rounds of (variant's median ÷ other's median in the same round). */
  const ratioTo = (variant: PeerName, other: PeerName, size: number) =>
    median(Array.from({ length: facts.rounds }, (_, i) => roundMedian(variant, size, i + 1) / roundMedian(other, size, i + 1)).filter((r) => !Number.isNaN(r)))
  const summary = (variant: PeerName, size: number) => {
    const ms = of(variant, size)
    const samples = ms.flatMap((m) => m.samples)
    const n = samples.length
    const weighted = (pick: (m: Measurement) => number) => ms.reduce((sum, m) => sum + pick(m) * m.samples.length, 0) / n
    return {
      medianMs: median(samples),
      ratio: ratioTo(variant, "jsonAgg", size),
      requests: n,
      statements: weighted((m) => m.statementsPerOp),
      nodeCpu: weighted((m) => m.nodeCpuMsPerOp),
      postgresCpu: weighted((m) => m.postgresCpuMsPerOp)
    }
  }

  const header = `| variant | ${facts.sizes.map((s) => `${s} cases: ratio to json_agg | median ms | statements | Node CPU ms | PostgreSQL CPU ms`).join(" | ")} |`
  const rule = `|---|${facts.sizes.map(() => "---:|---:|---:|---:|---:").join("|")}|`
  const rows = facts.variants.map((variant) =>
    `| ${labels[variant]} | ${facts.sizes.map((size) => {
      const s = summary(variant, size)
      return `${variant === "resolvers" ? `**${ratio(s.ratio)}**` : ratio(s.ratio)} | ${ms(s.medianMs)} | ${count(s.statements)} | ${ms(s.nodeCpu)} | ${ms(s.postgresCpu)}`
    }).join(" | ")} |`)
  const mainTable = [header, rule, ...rows].join("\n")

  const targetLines = facts.variants.includes("resolvers")
    ? [
      ...targets.filter((t) => facts.sizes.includes(t.size)).map((t) => {
        const r = ratioTo("resolvers", "jsonAgg", t.size)
        return `- resolvers at ${t.size} cases: **${ratio(r)}** of json_agg (target ≤ ${t.max}×): **${r <= t.max ? "met" : "missed"}**`
      }),
      ...(facts.variants.includes("dataloader")
        ? facts.sizes.map((size) => {
          const r = ratioTo("resolvers", "dataloader", size)
          return `- resolvers ÷ dataloader at ${size} cases: **${ratio(r)}** (target ≤ 1.00×, no slower): **${r <= 1 ? "met" : "missed"}**`
        })
        : [])
    ].join("\n")
    : "- (resolvers not measured in this run)"

  const perRound = [
    `| round | cases | order | ${facts.variants.map((v) => `${v} ms`).join(" | ")} | ${facts.variants.map((v) => `${v} ÷ json_agg`).join(" | ")} |`,
    `|---:|---:|---|${facts.variants.map(() => "---:").join("|")}|${facts.variants.map(() => "---:").join("|")}|`,
    ...Array.from({ length: facts.rounds }, (_, i) => i + 1).flatMap((round) =>
      facts.sizes.map((size) => {
        const order = facts.measurements.find((m) => m.round === round && m.size === size)?.order ?? ""
        const medians = facts.variants.map((v) => roundMedian(v, size, round))
        const reference = roundMedian("jsonAgg", size, round)
        return `| ${round} | ${size} | ${order} | ${medians.map(ms).join(" | ")} | ${medians.map((m) => ratio(m / reference)).join(" | ")} |`
      })
    )
  ].join("\n")

  const scatteredNames = [...new Set(facts.scattered.map((m) => m.variant))]
  const scatteredRound = (name: string, round: number) => median(facts.scattered.find((m) => m.variant === name && m.round === round)?.samples ?? [])
  const scatteredTable = facts.scattered.length === 0
    ? "(not measured in this run)"
    : [
      `Lookups per request: ${facts.scattered[0]!.lookups} single-user \`Loaders.user\` calls (a page of ${facts.scatteredSize} cases: creators, primary investigators, creators again, then the caller from 10 helpers in turn).`,
      "",
      "| variant | median ms | ratio to no cache | statements / request | Node CPU ms / request | requests |",
      "|---|---:|---:|---:|---:|---:|",
      ...scatteredNames.map((name) => {
        const ms_ = facts.scattered.filter((m) => m.variant === name)
        const n = ms_.reduce((sum, m) => sum + m.samples.length, 0)
        const r = median(Array.from({ length: facts.rounds }, (_, i) => scatteredRound(name, i + 1) / scatteredRound(scatteredNames[0]!, i + 1)))
        return `| ${name} | ${ms(median(ms_.flatMap((m) => m.samples)))} | ${ratio(r)} | ${count(ms_.reduce((s, m) => s + m.statementsPerOp * m.samples.length, 0) / n)} | ${ms(ms_.reduce((s, m) => s + m.nodeCpuMsPerOp * m.samples.length, 0) / n)} | ${n} |`
      })
    ].join("\n")

  const table = `${mainTable}\n\n${targetLines}\n\nScattered lookups:\n\n${scatteredTable}\n`

  const markdown = `# Batched reads: Cases.List with its tree, five ways

Generated by \`npm run bench -- reads\` (\`bench/reads.ts\`) on ${facts.date}.

${facts.machine}; load average ${facts.loadAverage} (1 / 5 / 15 min, at the end of the run); ${facts.database}; one pool of
${facts.poolMax} connections shared by every variant.

Dataset (test/support/ReadsDataset.ts): ${Object.entries(facts.shape).map(([k, v]) => `${v.toLocaleString("en-US")} ${k}`).join(", ")}.

The tree is the one \`Cases.List\` serves (src/domain/Reads.ts \`CaseView\`): each case with its creator, its
category, its RIU links with the RIU, and its investigations with their primary investigators, for the 100 and the
500 newest cases of an organization (one request after another, organizations in turn).

Ratios: per round, the variant's median request time over json_agg's median in the same round and size; the table
shows the median of those ratios over ${facts.rounds} rounds. "median ms" pools every request of the variant.
Statements, Node CPU (the whole process) and PostgreSQL CPU (postmaster and backends, embedded server only) are per
request.

${mainTable}

Targets:

${targetLines}

## Scattered single lookups, with and without the per-request cache

${scatteredTable}

## Per round

${perRound}

## Method

- One Node process, one \`PgClient\` pool (\`DB_POOL_MAX\`), the migrated schema with the declared indexes
  (migrations/IndexSpecs.ts), the dataset written by one generate_series script, then ANALYZE.
- Before measuring, every variant's answer for two organizations at each size is checked deep-equal to
  json_agg's (the same cases, relations, order and fields).
- Each variant runs ${facts.warmupMs} ms per size untimed first (JIT, plan caches, buffers). Then ${facts.rounds} rounds; in each, per
  size, every variant runs requests back to back for ${facts.measureMs} ms (at least 3), in an order that rotates by one per round.
- The variants (bench/reads/Peers.ts), all starting from the project's keyset page statement
  (layers/ReadRepository.ts) except json_agg, and all decoding every row once with the row Schemas of
  src/domain/Records.ts (json_agg: its tree with the \`CaseView\` Schema):
  - **naive N+1**: case after case; its category, creator, RIU links, investigations, and each primary
    investigator by their own statements.
  - **resolvers**: layers/CaseTrees.ts \`summaries\` over the real \`LoadersLive\`: categories, RIU links and
    investigations as coarse requests of one level (\`Effect.all(…, { batching: true })\`), then every user of the
    tree in one request; one \`unnest\` statement per relation; no request cache.
  - **dataloader**: one \`DataLoader\` per relation per request (its cache per request), one \`load\` per row as
    the package is used, per-case \`Promise.all\`; batch functions run the set-based statements on the same pool.
    Creators and primary investigators come from the users loader in two ticks (two statements).
  - **set-based**: the same levels as the resolvers written by hand: three \`= ANY($2)\` statements in parallel,
    then the users.
  - **json_agg**: one statement, below.
- Scattered lookups: \`Loaders.user\` one id per call, each code path an \`Effect.forEach(…, { batching: true })\`,
  the paths one after another; "per-request cache" wraps the request in layers/RequestCache.ts
  \`withRequestScopedCache\` (a fresh \`Request.makeCache\` per request, as the HTTP and RPC middlewares do).
- Where the time goes: bench/results/reads-profile.md (a CPU profile of the resolvers, \`bench/reads/profile.ts\`).

The reference statement:

\`\`\`sql
${facts.jsonAggSql.trim()}
\`\`\`
`
  return { table, markdown }
}
