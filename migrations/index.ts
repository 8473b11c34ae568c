import * as Migrator from "@effect/sql/Migrator"
import core_schema from "./0001_core_schema.ts"
import refresh_rotation from "./0002_refresh_rotation.ts"
import hot_sessions from "./0003_hot_sessions.ts"
import refresh_leeway from "./0004_refresh_leeway.ts"
import login_limits from "./0005_login_limits.ts"
import admin_changes from "./0006_admin_changes.ts"
import case_notes from "./0007_case_notes.ts"

/** Every migration, by `<id>_<name>`; ids only grow. */
const record = {
  "0001_core_schema": core_schema,
  "0002_refresh_rotation": refresh_rotation,
  "0003_hot_sessions": hot_sessions,
  "0004_refresh_leeway": refresh_leeway,
  "0005_login_limits": login_limits,
  "0006_admin_changes": admin_changes,
  "0007_case_notes": case_notes
}

export const loader = Migrator.fromRecord(record)

export const migrations: ReadonlyArray<readonly [id: number, name: string]> = Object.keys(record)
  .map((key) => {
    const [, id = "", name = ""] = /^(\d+)_(.+)$/.exec(key) ?? []
    return [Number(id), name] as const
  })
  .sort(([a], [b]) => a - b)
