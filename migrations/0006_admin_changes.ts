import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Two more reasons a session ends: its user's role changed, or its organization was suspended (issue 7).
 * The new CHECK is added NOT VALID (no scan under the lock; every existing row has an old reason) and
 * validated right after, which takes only a SHARE UPDATE EXCLUSIVE lock.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE auth_sessions DROP CONSTRAINT auth_sessions_revoked_reason_check`
  yield* sql`
    ALTER TABLE auth_sessions ADD CONSTRAINT auth_sessions_revoked_reason_check CHECK (
      revoked_reason IN ('LOGOUT', 'REVOKED', 'REVOKE_ALL', 'REUSE_DETECTED', 'USER_DEACTIVATED', 'ADMIN', 'EXPIRED',
                         'ROLE_CHANGED', 'ORGANIZATION_SUSPENDED')
    ) NOT VALID`
  yield* sql`ALTER TABLE auth_sessions VALIDATE CONSTRAINT auth_sessions_revoked_reason_check`
})
