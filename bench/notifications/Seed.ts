/**
 * The benchmark's organizations, users, sessions and notifications, inserted directly in SQL (Argon2
 * logins run at about 60/s). Every user gets a few notifications (some read), so the unread count at
 * connect reads real rows. User 0 of every organization is its ADMIN (the writer of POST /notifications);
 * the others are INVESTIGATORs.
 *
 *   large     the org-wide fan-out to `fanoutLarge` sockets (10,000): one session per user
 *   small     the org-wide fan-out to `fanoutSmall` sockets (1,000): one session per user
 *   targeted  the rest of the idle connections (18,000 - 11,000), receivers of targeted notifications
 *   churn     the connects/s measurements: `churnUsers` users × `churnSessions` sessions, one fresh
 *             session per connect (no session-status cache helps any server)
 */
import * as Crypto from "node:crypto"
import type pg from "pg"
import type { Credential } from "./Protocol.ts"

export interface SeededOrg {
  readonly organizationId: string
  readonly slug: string
  /** One credential per user, user 0 (the ADMIN) first. */
  readonly members: ReadonlyArray<Credential>
  readonly admin: Credential
}

export interface Seeded {
  readonly large: SeededOrg
  readonly small: SeededOrg
  readonly targeted: SeededOrg
  /** One credential per session, users interleaved (consecutive connects are different users). */
  readonly churn: ReadonlyArray<Credential>
  readonly notifications: number
}

const insertOrg = async (client: pg.Client, tag: string, name: string, users: number, sessionsPerUser: number) => {
  const slug = `bench-notif-${tag}-${Crypto.randomBytes(3).toString("hex")}`
  const { rows: [organization] } = await client.query<{ id: string }>(`INSERT INTO organizations (slug, name) VALUES ($1, $2) RETURNING id`, [slug, name])
  const organizationId = organization!.id
  await client.query(
    `INSERT INTO users (organization_id, email, password_hash, display_name, role)
     SELECT $1, format('user-%s@%s.example', lpad(i::text, 7, '0'), $2::text), 'bench: logins are not measured',
            format('Bench user %s', i), CASE WHEN i = 0 THEN 'ADMIN' ELSE 'INVESTIGATOR' END
       FROM generate_series(0, $3::int - 1) AS i`,
    [organizationId, slug, users]
  )
  // Valid for the whole run: idle expiry 2 hours away (never reached), absolute 12 hours.
  await client.query(
    `INSERT INTO auth_sessions (organization_id, user_id, created_at, last_refreshed_at, idle_expires_at, absolute_expires_at, user_agent, ip)
     SELECT u.organization_id, u.id, now(), now(), now() + interval '2 hours', now() + interval '12 hours', 'bench-notifications seed', '127.0.0.1'
       FROM users u CROSS JOIN generate_series(1, $2::int) AS k
      WHERE u.organization_id = $1`,
    [organizationId, sessionsPerUser]
  )
  // Three notifications per user, the oldest read: unread count 2 at the first connect.
  await client.query(
    `INSERT INTO notifications (organization_id, user_id, type, title, body, created_at, read_at)
     SELECT u.organization_id, u.id, 'GENERAL', format('Seeded %s', k), 'seeded by bench/notifications', now() - (4 - k) * interval '1 minute',
            CASE WHEN k = 1 THEN now() ELSE NULL END
       FROM users u CROSS JOIN generate_series(1, 3) AS k
      WHERE u.organization_id = $1
      ORDER BY u.id, k`,
    [organizationId]
  )
  const { rows } = await client.query<{ user_id: string; session_id: string; role: string; n: number }>(
    `SELECT u.id AS user_id, s.id AS session_id, u.role, row_number() OVER (PARTITION BY u.id ORDER BY s.id)::int AS n
       FROM users u JOIN auth_sessions s ON s.user_id = u.id
      WHERE u.organization_id = $1
      ORDER BY n, u.email`,
    [organizationId]
  )
  const credentials = rows.map((row): Credential => ({ userId: row.user_id, sessionId: row.session_id, organizationId, role: row.role }))
  return { organizationId, slug, credentials }
}

const org = (seeded: { readonly organizationId: string; readonly slug: string; readonly credentials: ReadonlyArray<Credential> }): SeededOrg => {
  const admin = seeded.credentials.find((c) => c.role === "ADMIN")
  if (admin === undefined) throw new Error(`seed: no ADMIN in ${seeded.slug}`)
  return { organizationId: seeded.organizationId, slug: seeded.slug, members: [admin, ...seeded.credentials.filter((c) => c !== admin)], admin }
}

export const seed = async (
  client: pg.Client,
  sizes: { readonly large: number; readonly small: number; readonly targeted: number; readonly churnUsers: number; readonly churnSessions: number }
): Promise<Seeded> => {
  const large = org(await insertOrg(client, "large", "Notifications benchmark: large fan-out", sizes.large, 1))
  const small = org(await insertOrg(client, "small", "Notifications benchmark: small fan-out", sizes.small, 1))
  const targeted = org(await insertOrg(client, "targeted", "Notifications benchmark: targeted", sizes.targeted, 1))
  const churn = await insertOrg(client, "churn", "Notifications benchmark: connects", sizes.churnUsers, sizes.churnSessions)
  const { rows: [count] } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications`)
  return { large, small, targeted, churn: churn.credentials, notifications: count?.n ?? 0 }
}
