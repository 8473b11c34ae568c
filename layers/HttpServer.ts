import { NodeHttpServer } from "@effect/platform-node"
import { Config } from "effect"
import * as Http from "node:http"
import { portConfig } from "./ConfigValues.ts"

/** PORT (default 3000) and HOST (default 0.0.0.0); read up front by `serve` so a bad value stops it at once. */
export const listenConfig = Config.all({
  port: portConfig("PORT", 3000),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0"))
})

export const HttpServerLive = NodeHttpServer.layerConfig(() => Http.createServer(), listenConfig)
