import { runCli } from "./cli/run.ts"

runCli(["serve"])
