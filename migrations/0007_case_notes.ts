import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Notes on a case (issue 9), shaped like investigation_notes: tenant keys on both foreign keys, so a note can
 * never point at another organization's case or author. Its index (case_id, created_at) is declared in
 * IndexSpecs.ts and built CONCURRENTLY by the index step, like every other secondary index.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE case_notes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      case_id uuid NOT NULL,
      author_id uuid NOT NULL,
      body text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, id),
      FOREIGN KEY (organization_id, case_id) REFERENCES cases(organization_id, id) ON DELETE CASCADE,
      FOREIGN KEY (organization_id, author_id) REFERENCES users(organization_id, id)
    )`
})
