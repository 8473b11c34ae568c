import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { CaseDetail, CasePage } from "../../src/domain/Reads.ts"
import { acme, demoPassword, memberEmail } from "../../src/seed/DemoData.ts"
import { loginReply, send, tokensOf } from "../support/Http.ts"
import { ServerTest } from "../support/TestApp.ts"

describe("read API over the demo data", () => {
  layer(ServerTest({ SEED_DEMO: "true" }), { timeout: 120_000 })((it) => {
    it.effect("the demo's triaged cases carry case notes, and investigated ones their lead's note and investigation notes", () =>
      Effect.gen(function* () {
        const login = yield* loginReply({ email: memberEmail(acme, "viewer"), organization: acme.slug }, demoPassword)
        const token = tokensOf(login).accessToken
        const page = JSON.parse((yield* send("GET", "/cases?limit=100", { token })).text) as CasePage
        assert.strictEqual(page.cases.length, acme.cases.length)
        const investigated = page.cases.find((c) => c.status !== "NEW" && c.investigations.length > 0)!
        const reply = yield* send("GET", `/cases/${investigated.id}`, { token })
        const detail = (JSON.parse(reply.text) as { case: CaseDetail }).case
        assert.deepStrictEqual(detail.notes.map((note) => note.author.role), ["ADMIN", "INVESTIGATOR"])
        assert.isAbove(detail.investigations[0]!.notes.length, 0)
        assert.strictEqual(detail.notes[1]!.author.id, detail.investigations[0]!.primaryInvestigator?.id)
      }))
  })
})
