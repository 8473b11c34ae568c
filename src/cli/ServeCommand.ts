import { Command } from "@effect/cli"
import { Layer } from "effect"
import { MainLive } from "../../layers/Main.ts"

/** `serve`: the whole application (what `npm start` runs) until SIGTERM or SIGINT. */
export const serveCommand = Command.make("serve", {}, () => Layer.launch(MainLive)).pipe(
  Command.withDescription("migrate, then serve HTTP, RPC and sockets (demo data on an empty embedded database)")
)
