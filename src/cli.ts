import { runCli } from "./cli/run.ts"

runCli(process.argv.slice(2))
