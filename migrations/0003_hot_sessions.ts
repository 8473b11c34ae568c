import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Room on each page of auth_sessions for the new version of a row: with no index on the columns a
 * rotation changes (the idle-expiry index is retired, migrations/IndexSpecs.ts), a refresh is then a
 * HOT update that writes no index. The setting needs only a SHARE UPDATE EXCLUSIVE lock (writers go on);
 * pages written from now on keep 20 % free.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE auth_sessions SET (fillfactor = 80)`
})
