import { Effect } from "effect"
import type * as Http from "node:http"
import type { WebSocket } from "ws"

/** What an upgrade gives: the socket, or the HTTP answer that refused it. */
export type Upgrade<S> = { readonly _tag: "Open"; readonly socket: S } | { readonly _tag: "Refused"; readonly status: number; readonly body: string }

/** The text of a message as `ws` hands it over. */
export const textOf = (data: WebSocket.RawData) =>
  Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8")

/**
 * Settles an upgrade of `ws` (inside the Effect.async that made it): `socket` once open (after
 * `onOpen`), the refusal's status and body, or the error that came first.
 */
export const settleUpgrade = <S>(
  ws: WebSocket,
  socket: S,
  onOpen: () => void,
  resume: (result: Effect.Effect<Upgrade<S>, Error>) => void
) => {
  ws.once("open", () => {
    onOpen()
    resume(Effect.succeed({ _tag: "Open", socket }))
  })
  ws.once("unexpected-response", (_request: Http.ClientRequest, response: Http.IncomingMessage) => {
    let body = ""
    response.setEncoding("utf8")
    response.on("data", (chunk: string) => (body += chunk))
    const done = () => resume(Effect.succeed({ _tag: "Refused", status: response.statusCode ?? 0, body }))
    response.on("end", done)
    response.on("error", done)
  })
  ws.once("error", (error) => resume(Effect.fail(error)))
}

/** The upgrade for the scope: an opened socket is terminated when the scope closes. */
export const scopedUpgrade = <S extends { readonly ws: WebSocket }, R>(upgrade: Effect.Effect<Upgrade<S>, Error, R>) =>
  Effect.acquireRelease(upgrade, (result) =>
    Effect.sync(() => {
      if (result._tag === "Open") result.socket.ws.terminate()
    }))

/** The socket of an upgrade; the test dies if the upgrade was refused. */
export const openedOrDie = <S, E, R>(upgrade: Effect.Effect<Upgrade<S>, E, R>) =>
  Effect.flatMap(upgrade, (result) =>
    result._tag === "Open" ? Effect.succeed(result.socket) : Effect.dieMessage(`upgrade refused: ${result.status} ${result.body}`))

/**
 * Waits in real time (setTimeout: TestClock does not hold it) until `check` finds something, trying
 * again whenever a listener of `listeners` is called; fails after `timeoutMs` (`timedOut`), or when
 * `closedFailure` gives a message before `check` found anything.
 */
export const waitUntil = <A>(
  listeners: Set<() => void>,
  check: () => A | undefined,
  closedFailure: () => string | undefined,
  timedOut: () => string,
  timeoutMs: number
) =>
  Effect.async<A, Error>((resume) => {
    const attempt = () => {
      const found = check()
      if (found !== undefined) {
        finish()
        resume(Effect.succeed(found))
      } else {
        const closed = closedFailure()
        if (closed !== undefined) {
          finish()
          resume(Effect.fail(new Error(closed)))
        }
      }
    }
    const timer = setTimeout(() => {
      finish()
      resume(Effect.fail(new Error(timedOut())))
    }, timeoutMs)
    const finish = () => {
      clearTimeout(timer)
      listeners.delete(attempt)
    }
    listeners.add(attempt)
    attempt()
    return Effect.sync(finish)
  })
