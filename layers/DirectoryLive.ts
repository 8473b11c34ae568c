import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import { Directory, DirectoryError } from "../services/Directory.ts"
import { Passwords } from "../services/Passwords.ts"
import { isUniqueViolation } from "../src/sql/SqlErrors.ts"

export const DirectoryLive = Layer.effect(
  Directory,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const passwords = yield* Passwords

    const organizationBySlug = (slug: string) =>
      sql<{ id: OrganizationId }>`SELECT id FROM organizations WHERE slug = ${slug}`.pipe(
        Effect.orDie,
        Effect.flatMap(([row]) =>
          row === undefined
            ? new DirectoryError({ reason: "ORGANIZATION_NOT_FOUND", message: `no organization with slug ${slug}` })
            : Effect.succeed(row.id)
        )
      )

    return Directory.of({
      findOrganization: Effect.fn("Directory.findOrganization")(function* (slug) {
        return yield* organizationBySlug(slug)
      }),
      createOrganization: Effect.fn("Directory.createOrganization")(function* ({ name, slug }) {
        const [row] = yield* sql<{ id: OrganizationId }>`
          INSERT INTO organizations (slug, name) VALUES (${slug}, ${name}) RETURNING id`.pipe(
          Effect.catchIf(isUniqueViolation, () =>
            new DirectoryError({ reason: "ORGANIZATION_EXISTS", message: `an organization with slug ${slug} already exists` })),
          Effect.catchTag("SqlError", Effect.die)
        )
        return row!.id
      }),
      createUser: Effect.fn("Directory.createUser")(function* (input) {
        const organizationId = yield* organizationBySlug(input.organizationSlug)
        const hash = yield* passwords.hash(input.password)
        const [row] = yield* sql<{ id: UserId }>`
          INSERT INTO users (organization_id, email, password_hash, display_name, role, status)
          VALUES (${organizationId}, ${input.email}, ${hash}, ${input.displayName}, ${input.role}, 'ACTIVE')
          RETURNING id`.pipe(
          Effect.catchIf(isUniqueViolation, () =>
            new DirectoryError({ reason: "USER_EXISTS", message: `${input.email} already exists in ${input.organizationSlug}` })),
          Effect.catchTag("SqlError", Effect.die)
        )
        return row!.id
      }),
      findUser: Effect.fn("Directory.findUser")(function* ({ email, organizationSlug }) {
        const organizationId = yield* organizationBySlug(organizationSlug)
        const [row] = yield* sql<{ id: UserId }>`
          SELECT id FROM users WHERE organization_id = ${organizationId} AND email = ${email}`.pipe(Effect.orDie)
        if (row === undefined) {
          return yield* new DirectoryError({ reason: "USER_NOT_FOUND", message: `no user ${email} in ${organizationSlug}` })
        }
        return { id: row.id, organizationId }
      })
    })
  })
)
