/** CPU time of other processes from /proc (Linux): utime + stime of a process, all its threads. */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"

const clockTicks = (() => {
  try {
    return Number(ChildProcess.execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** After the command name in parentheses: state, ppid, … ; utime and stime are fields 14 and 15 of the line. */
const statFields = (pid: number | string) => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}

const ticksToMs = (ticks: number) => (ticks / clockTicks) * 1000

/** CPU ms of one process (NaN when it is gone or there is no procfs). */
export const processCpuMs = (pid: number) => {
  const fields = statFields(pid)
  return fields === undefined ? Number.NaN : ticksToMs(Number(fields[11]) + Number(fields[12]))
}

/**
 * CPU ms of the postmaster and its children (backends, WAL writer, autovacuum, …); NaN when unknown. The
 * postmaster's cutime + cstime hold the children it has reaped, so a backend that ends mid-window still counts.
 */
export const postgresCpuMs = (postmasterPid: number | undefined) => {
  if (postmasterPid === undefined || process.platform !== "linux") return Number.NaN
  let ticks = 0
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const fields = statFields(entry)
    if (fields === undefined) continue
    if (Number(entry) === postmasterPid) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
    else if (Number(fields[1]) === postmasterPid) ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticksToMs(ticks)
}
