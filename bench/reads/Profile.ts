import * as Inspector from "node:inspector/promises"

/** A V8 CPU profile as the inspector's Profiler.stop returns it. */
interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  }>
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}

/** Runs `work` under the V8 sampling profiler of this process (100 µs interval) and returns the profile. */
export const profiled = async <A>(work: () => Promise<A>) => {
  const session = new Inspector.Session()
  session.connect()
  try {
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: 100 })
    await session.post("Profiler.start")
    const result = await work()
    const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile }
    return { result, profile }
  } finally {
    session.disconnect()
  }
}

const placeOf = (url: string, name: string) => {
  if (name === "(garbage collector)") return "garbage collector"
  if (name === "(idle)" || name === "(program)" || name === "(root)") return name
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1]!
  if (url.startsWith("node:") || url === "") return "node internals"
  return "project files"
}

/** Self time by where the code lives (a package, the project, node, GC) and by function, as markdown tables. */
export const summarize = (profile: CpuProfile, top: number) => {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0)))
  const byPlace = new Map<string, number>()
  const bySite = new Map<string, number>()
  let busy = 0
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame
    const name = functionName === "" ? "(anonymous)" : functionName
    const place = placeOf(url, name)
    if (place === "(idle)") continue
    busy += us
    byPlace.set(place, (byPlace.get(place) ?? 0) + us)
    const file = url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(bench|layers|src|services|test)\//, "$1/")
    const site = `\`${name}\` ${file}${url === "" ? "" : `:${lineNumber + 1}`}`
    bySite.set(site, (bySite.get(site) ?? 0) + us)
  }
  const table = (title: string, entries: Map<string, number>, n: number) =>
    [
      `| ${title} | self ms | share of busy |`,
      "|---|---:|---:|",
      ...[...entries].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `| ${k.replaceAll("|", "\\|")} | ${(us / 1000).toFixed(0)} | ${((us / busy) * 100).toFixed(1)} % |`)
    ].join("\n")
  return { busyMs: busy / 1000, places: table("where the code lives", byPlace, 20), functions: table("function", bySite, top) }
}
