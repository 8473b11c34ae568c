import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The refresh leeway without a fresh window per replacement (issue 7): before, a live token displaced
 * by a predecessor presented within the leeway was revoked "now", and so opened a new window of its
 * own: two holders alternating every 3 s refreshed forever without reuse being detected. Each token
 * now records where its leeway starts (`leeway_from`): when it was rotated, or, when displaced, the
 * start of the window of the token that displaced it. The rest of auth_refresh (migrations/0002) is
 * unchanged.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE auth_refresh_tokens ADD COLUMN leeway_from timestamptz NULL`

  yield* sql.unsafe(`
    CREATE OR REPLACE FUNCTION auth_refresh(
      p_selector uuid,
      p_secret_hash bytea,
      p_now timestamptz,
      p_idle interval,
      p_leeway interval,
      p_burst double precision,
      p_per_second double precision,
      p_new_selector uuid,
      p_new_hash bytea,
      p_ip text,
      p_user_agent text,
      p_channel text
    ) RETURNS TABLE (
      outcome text,
      session_id uuid,
      organization_id uuid,
      user_id uuid,
      role text,
      display_name text,
      absolute_expires_at timestamptz,
      retry_after_seconds integer
    )
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      r record;
      diff integer := 0;
      spent_at timestamptz;
      is_live boolean;
      allowance double precision;
      next_generation integer;
    BEGIN
      SELECT t.session_id, t.generation, t.secret_hash, t.rotated_at, t.revoked_at AS token_revoked_at, t.leeway_from,
             s.organization_id, s.user_id, s.current_generation, s.revoked_at, s.idle_expires_at,
             s.absolute_expires_at, s.last_refreshed_at, s.refresh_allowance,
             u.role, u.display_name, u.status AS user_status, o.status AS organization_status
        INTO r
        FROM auth_refresh_tokens t
        JOIN auth_sessions s ON s.id = t.session_id
        JOIN users u ON u.id = s.user_id
        JOIN organizations o ON o.id = s.organization_id
       WHERE t.id = p_selector
         FOR UPDATE OF s;
      IF NOT FOUND OR octet_length(r.secret_hash) <> octet_length(p_secret_hash) THEN
        RETURN QUERY SELECT 'INVALID_TOKEN', NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text, NULL::timestamptz, NULL::integer;
        RETURN;
      END IF;
      -- Constant time: every byte is compared whatever the first difference.
      FOR i IN 0 .. octet_length(p_secret_hash) - 1 LOOP
        diff := diff | (get_byte(r.secret_hash, i) # get_byte(p_secret_hash, i));
      END LOOP;
      outcome := NULL;
      IF diff <> 0 THEN
        outcome := 'INVALID_TOKEN';
      ELSIF r.user_status <> 'ACTIVE' OR r.organization_status <> 'ACTIVE' THEN
        outcome := 'USER_INACTIVE';
      ELSIF r.revoked_at IS NOT NULL THEN
        outcome := 'SESSION_REVOKED';
      ELSIF p_now >= r.absolute_expires_at OR p_now >= r.idle_expires_at THEN
        outcome := 'SESSION_EXPIRED';
      END IF;
      IF outcome IS NOT NULL THEN
        RETURN QUERY SELECT outcome, r.session_id, r.organization_id, r.user_id, NULL::text, NULL::text, NULL::timestamptz, NULL::integer;
        RETURN;
      END IF;

      -- The leeway is counted from when the presented token's family first moved on, never restarted by
      -- a replacement: two holders alternating within the leeway each displace the other's token, and
      -- a displaced token inherits the window of the one it replaced.
      spent_at := coalesce(r.leeway_from, r.rotated_at, r.token_revoked_at);
      is_live := spent_at IS NULL AND r.generation = r.current_generation;
      IF NOT is_live AND NOT (
           p_now - spent_at <= p_leeway
           AND r.generation IN (r.current_generation - 1, r.current_generation)
         ) THEN
        UPDATE auth_sessions SET revoked_at = p_now, revoked_reason = 'REUSE_DETECTED'
         WHERE id = r.session_id AND revoked_at IS NULL;
        UPDATE auth_refresh_tokens SET revoked_at = p_now
         WHERE auth_refresh_tokens.session_id = r.session_id AND rotated_at IS NULL AND revoked_at IS NULL;
        PERFORM pg_notify(p_channel, json_build_object(
          '_tag', 'session.revoked', 'organizationId', r.organization_id, 'userId', r.user_id,
          'sessionId', r.session_id, 'reason', 'REUSE_DETECTED')::text);
        INSERT INTO audit_log (organization_id, actor_user_id, session_id, entity_type, entity_id, action, changes, ip, user_agent, created_at)
        VALUES (r.organization_id, r.user_id, r.session_id, 'auth_session', r.session_id::text, 'auth.refresh.reuse_detected',
                jsonb_build_object('generation', r.generation, 'currentGeneration', r.current_generation), p_ip, p_user_agent, p_now);
        RETURN QUERY SELECT 'REFRESH_TOKEN_REUSED', r.session_id, r.organization_id, r.user_id, NULL::text, NULL::text, NULL::timestamptz, NULL::integer;
        RETURN;
      END IF;

      allowance := least(p_burst, coalesce(r.refresh_allowance, p_burst)
                   + greatest(0, extract(epoch FROM p_now - r.last_refreshed_at)) * p_per_second);
      IF allowance < 1 THEN
        RETURN QUERY SELECT 'RATE_LIMITED', r.session_id, r.organization_id, r.user_id, NULL::text, NULL::text, NULL::timestamptz,
                            greatest(1, ceil((1 - allowance) / p_per_second))::integer;
        RETURN;
      END IF;

      -- The live token rotates (generation + 1); a predecessor or a sibling within the leeway gets a
      -- fresh pair that replaces the live token at the same generation.
      next_generation := CASE WHEN is_live THEN r.current_generation + 1 ELSE r.current_generation END;
      UPDATE auth_refresh_tokens
         SET rotated_at = CASE WHEN is_live THEN p_now ELSE rotated_at END,
             revoked_at = CASE WHEN is_live THEN revoked_at ELSE p_now END,
             leeway_from = CASE WHEN is_live THEN p_now ELSE spent_at END
       WHERE auth_refresh_tokens.session_id = r.session_id AND generation = r.current_generation
         AND rotated_at IS NULL AND revoked_at IS NULL;
      UPDATE auth_sessions
         SET current_generation = next_generation,
             last_refreshed_at = p_now,
             idle_expires_at = least(p_now + p_idle, r.absolute_expires_at),
             refresh_allowance = allowance - 1
       WHERE id = r.session_id;
      INSERT INTO auth_refresh_tokens (id, session_id, organization_id, user_id, secret_hash, generation, created_at)
      VALUES (p_new_selector, r.session_id, r.organization_id, r.user_id, p_new_hash, next_generation, p_now);
      INSERT INTO audit_log (organization_id, actor_user_id, session_id, entity_type, entity_id, action, changes, ip, user_agent, created_at)
      VALUES (r.organization_id, r.user_id, r.session_id, 'auth_session', r.session_id::text,
              CASE WHEN is_live THEN 'auth.refresh' ELSE 'auth.refresh.replaced' END,
              jsonb_build_object('generation', next_generation), p_ip, p_user_agent, p_now);
      RETURN QUERY SELECT CASE WHEN is_live THEN 'ROTATED' ELSE 'REPLACED' END, r.session_id, r.organization_id, r.user_id,
                          r.role, r.display_name, r.absolute_expires_at, NULL::integer;
    END
    $fn$`)
})
