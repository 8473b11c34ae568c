import { runCli } from "./cli/RunCli.ts"

runCli(process.argv)
