import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { MainLive } from "../layers/Main.ts"

/** `npm start`: the whole application until SIGTERM or SIGINT, then a bounded drain and exit 0. */
NodeRuntime.runMain(Layer.launch(MainLive), { disableErrorReporting: false, disablePrettyLogger: true })
