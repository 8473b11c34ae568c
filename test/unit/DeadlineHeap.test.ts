import { assert, describe, it } from "@effect/vitest"
import type { Scope } from "effect"
import type { WebSocket } from "ws"
import { Connection, DeadlineHeap } from "../../src/socket/Connection.ts"

const limits = { framesPerSecond: 50, frameBurst: 100, maxBufferedBytes: 1024 }
const connectionAt = (openedAt: number) =>
  new Connection(`c${openedAt}`, {} as WebSocket, "notifications", {} as Scope.CloseableScope, limits, openedAt, 10_000, () => undefined)

/** Pops everything due by `now`, in the order the scheduler would see it. */
const drain = (heap: DeadlineHeap, now: number) => {
  const out: Array<number> = []
  for (let top = heap.peek(); top !== undefined && top.due <= now; top = heap.peek()) {
    out.push(top.due)
    top.phase = "closed"
    heap.update(top)
  }
  return out
}

describe("DeadlineHeap (the socket scheduler's deadlines)", () => {
  it("gives the sockets soonest deadline first through random inserts, moves and removals, and forgets closed ones", () => {
    let seed = 7
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    const heap = new DeadlineHeap()
    const live = new Set<Connection>()
    for (let step = 0; step < 5_000; step++) {
      const roll = random()
      const pick = [...live][Math.floor(random() * live.size)]
      if (roll < 0.5 || pick === undefined) {
        const connection = connectionAt(Math.floor(random() * 100_000))
        live.add(connection)
        heap.update(connection)
      } else if (roll < 0.75) {
        // Handshake done: its deadlines are now the token's.
        pick.phase = "open"
        pick.refreshNeededAt = Math.floor(random() * 200_000)
        pick.refreshBy = pick.refreshNeededAt + 300_000
        heap.update(pick)
      } else {
        live.delete(pick)
        heap.remove(pick)
        assert.strictEqual(pick.heapIndex, -1)
      }
      assert.strictEqual(heap.size, live.size)
    }
    const expected = [...live].map((connection) => connection.nextDue()).sort((a, b) => a - b)
    assert.deepStrictEqual(drain(heap, Number.MAX_SAFE_INTEGER), expected)
    assert.strictEqual(heap.size, 0)
  })

  it("drops a socket with no deadline left (handshaking or closed) and files it again when it gets one", () => {
    const heap = new DeadlineHeap()
    const connection = connectionAt(0)
    heap.update(connection)
    assert.strictEqual(heap.peek(), connection)
    assert.strictEqual(connection.due, 10_000)
    connection.phase = "connecting"
    heap.update(connection)
    assert.strictEqual(heap.peek(), undefined)
    connection.phase = "open"
    connection.refreshNeededAt = 50_000
    connection.refreshBy = 350_000
    heap.update(connection)
    assert.strictEqual(heap.peek()?.due, 50_000)
    connection.refreshNeededAt = Number.POSITIVE_INFINITY
    heap.update(connection)
    assert.strictEqual(heap.peek()?.due, 350_000)
  })
})
