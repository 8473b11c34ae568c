/**
 * The benchmark's organization, users, sessions and first refresh tokens, inserted directly in SQL
 * (Argon2 logins would take minutes): `users` users with `sessionsPerUser` sessions each, a generation-0
 * refresh token per session. The sessions whose refresh tokens the load spends get known tokens
 * (`<selector>.<secret>`, SHA-256 of the secret stored), so they can be presented over HTTP.
 */
import * as Crypto from "node:crypto"
import type pg from "pg"

export interface SeededUser {
  readonly userId: string
  /** The user's newest session. */
  readonly sessionId: string
}

export interface Seeded {
  readonly organizationId: string
  readonly slug: string
  readonly users: ReadonlyArray<SeededUser>
  readonly role: string
}

export const role = "INVESTIGATOR"

export const seed = async (client: pg.Client, users: number, sessionsPerUser: number): Promise<Seeded> => {
  const slug = `bench-http-${Crypto.randomBytes(4).toString("hex")}`
  const { rows: [organization] } = await client.query<{ id: string }>(
    `INSERT INTO organizations (slug, name) VALUES ($1, 'HTTP benchmark') RETURNING id`,
    [slug]
  )
  const organizationId = organization!.id
  await client.query(
    `INSERT INTO users (organization_id, email, password_hash, display_name, role)
     SELECT $1, format('user-%s@%s.example', lpad(i::text, 7, '0'), $2::text), 'bench: logins are not measured', format('Bench user %s', i), $3
       FROM generate_series(0, $4::int - 1) AS i`,
    [organizationId, slug, role, users]
  )
  // Session k of a user was created k seconds ago; each is idle-valid for 30 minutes from then, absolute 12 hours.
  await client.query(
    `INSERT INTO auth_sessions (organization_id, user_id, created_at, last_refreshed_at, idle_expires_at, absolute_expires_at, user_agent, ip)
     SELECT u.organization_id, u.id, t.at, t.at, t.at + interval '30 minutes', t.at + interval '12 hours', 'bench-http seed', '127.0.0.1'
       FROM users u
      CROSS JOIN LATERAL (SELECT now() - k * interval '1 second' AS at FROM generate_series(0, $2::int - 1) AS k) AS t
      WHERE u.organization_id = $1`,
    [organizationId, sessionsPerUser]
  )
  await client.query(
    `INSERT INTO auth_refresh_tokens (id, session_id, organization_id, user_id, secret_hash, generation, created_at)
     SELECT gen_random_uuid(), s.id, s.organization_id, s.user_id, sha256(uuid_send(gen_random_uuid())), 0, s.created_at
       FROM auth_sessions s WHERE s.organization_id = $1`,
    [organizationId]
  )
  const { rows } = await client.query<{ user_id: string; session_id: string }>(
    `SELECT DISTINCT ON (u.email) u.id AS user_id, s.id AS session_id
       FROM users u JOIN auth_sessions s ON s.user_id = u.id
      WHERE u.organization_id = $1
      ORDER BY u.email, s.created_at DESC`,
    [organizationId]
  )
  return { organizationId, slug, users: rows.map((row) => ({ userId: row.user_id, sessionId: row.session_id })), role }
}

/** Gives these sessions' live refresh tokens known values; returns the tokens, in the same order. */
export const knownRefreshTokens = async (client: pg.Client, sessionIds: ReadonlyArray<string>) => {
  const tokens = sessionIds.map(() => {
    const selector = Crypto.randomUUID()
    const secret = Crypto.randomBytes(32).toString("base64url")
    return { selector, token: `${selector}.${secret}`, hash: Crypto.createHash("sha256").update(secret).digest("hex") }
  })
  const { rowCount } = await client.query(
    `UPDATE auth_refresh_tokens t SET id = v.selector, secret_hash = decode(v.hash, 'hex')
       FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS v(session_id, selector, hash)
      WHERE t.session_id = v.session_id AND t.rotated_at IS NULL AND t.revoked_at IS NULL`,
    [sessionIds, tokens.map((t) => t.selector), tokens.map((t) => t.hash)]
  )
  if (rowCount !== sessionIds.length) throw new Error(`expected ${sessionIds.length} live refresh tokens, updated ${rowCount}`)
  return tokens.map((t) => t.token)
}
