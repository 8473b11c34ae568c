import { Config, Effect, Layer } from "effect"
import { WebSocketServer } from "ws"

/**
 * WS_MAX_FRAME_BYTES (default 64 KiB) for every WebSocket this process accepts, enforced by `ws` itself:
 * a larger frame is never buffered, the socket is closed with 1009.
 *
 * NodeHttpServer upgrades with a WebSocketServer of its own, created with ws's default maxPayload of
 * 100 MiB and no option to change it (shared/STACK-NOTES.md). Until the socket layer owns its upgrade
 * path, the limit is applied at the one point every server of the single deduplicated `ws` copy goes
 * through, `handleUpgrade`, for the lifetime of this layer.
 */
export const WebSocketFrameLimitLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const maxPayload = yield* Config.integer("WS_MAX_FRAME_BYTES").pipe(
      Config.validate({ message: "expected a byte count from 1024", validation: (n) => n >= 1024 }),
      Config.withDefault(64 * 1024)
    )
    const prototype = WebSocketServer.prototype
    const original = prototype.handleUpgrade
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        prototype.handleUpgrade = function (this: WebSocketServer, ...args: Parameters<typeof original>) {
          if (this.options.maxPayload === undefined || this.options.maxPayload > maxPayload) this.options.maxPayload = maxPayload
          return original.apply(this, args)
        }
      }),
      () => Effect.sync(() => {
        prototype.handleUpgrade = original
      })
    )
  })
)
