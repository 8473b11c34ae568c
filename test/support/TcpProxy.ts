import { Effect } from "effect"
import * as Net from "node:net"

/**
 * A TCP proxy in front of a server, to cut or refuse a client's connections (a network drop, an
 * instance that is down) and to point the same address at another instance.
 */
export interface TcpProxy {
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string
  /** Connections accepted so far (refused ones included). */
  readonly accepted: () => number
  /** Destroys every open connection (both sides). */
  readonly dropAll: () => void
  /** While true, new connections are closed at once. */
  readonly setRefusing: (refusing: boolean) => void
  /** Where new connections go. */
  readonly setTarget: (baseUrl: string) => void
}

const portOf = (baseUrl: string) => Number(new URL(baseUrl).port)

/** A proxy to `targetBaseUrl` for the scope. */
export const tcpProxy = (targetBaseUrl: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: TcpProxy; readonly server: Net.Server; readonly sockets: Set<Net.Socket> }>((resume) => {
      let target = portOf(targetBaseUrl)
      let refusing = false
      let accepted = 0
      const sockets = new Set<Net.Socket>()
      const track = (socket: Net.Socket) => {
        sockets.add(socket)
        socket.on("error", () => socket.destroy())
        socket.once("close", () => sockets.delete(socket))
      }
      const server = Net.createServer((client) => {
        accepted++
        track(client)
        if (refusing) return void client.destroy()
        const upstream = Net.connect(target, "127.0.0.1")
        track(upstream)
        client.pipe(upstream)
        upstream.pipe(client)
        client.once("close", () => upstream.destroy())
        upstream.once("close", () => client.destroy())
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as Net.AddressInfo
        resume(Effect.succeed({
          server,
          sockets,
          proxy: {
            baseUrl: `http://127.0.0.1:${port}`,
            accepted: () => accepted,
            dropAll: () => {
              for (const socket of [...sockets]) socket.destroy()
            },
            setRefusing: (on) => {
              refusing = on
            },
            setTarget: (baseUrl) => {
              target = portOf(baseUrl)
            }
          }
        }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ proxy }) => proxy))
