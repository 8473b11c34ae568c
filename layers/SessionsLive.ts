import { Effect, Layer } from "effect"
import { Sessions } from "../services/Sessions.ts"
import { makeLogin } from "./sessions/LoginFlow.ts"
import { makeRevocation } from "./sessions/RevocationFlow.ts"
import { makeRotation } from "./sessions/RotationFlow.ts"
import { sessionsConfig } from "./sessions/SessionsConfig.ts"

/** Sessions, one module per flow: login; rotation and the socket refresh; listing and revocation. */
export const SessionsLive = Layer.effect(
  Sessions,
  Effect.gen(function* () {
    const config = yield* sessionsConfig
    const login = yield* makeLogin(config)
    const { refresh, refreshSocket, renewSocket } = yield* makeRotation(config)
    const { list, logout, revoke, revokeAll } = yield* makeRevocation
    return Sessions.of({ login, refresh, refreshSocket, renewSocket, list, logout, revoke, revokeAll })
  })
)
