import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Limits shared by every instance (issue 7): token buckets in the database, each attempt one atomic
 * statement, taken before the password is checked.
 *
 * - auth_rate_buckets: one row per key (`login-address:<ip>`, `login-account:<email>`,
 *   `refresh-fail:<ip>`); tokens refill continuously up to the burst. An address may go into debt (down
 *   to minus its burst): attempts refused for the address still cost the address.
 * - auth_login_proofs: where a user logged in successfully, and when: a correct password from such an
 *   address (within the proof window) passes an account bucket that someone else emptied.
 * - audit_log.aggregate_key: refusals and failed refreshes are audited as one row per action, address
 *   and minute with a count, so that a flood cannot fill the table.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE auth_rate_buckets (
      key text PRIMARY KEY CHECK (length(key) <= 400),
      tokens double precision NOT NULL,
      updated_at timestamptz NOT NULL
    ) WITH (fillfactor = 70)`

  yield* sql`
    CREATE TABLE auth_login_proofs (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      address text NOT NULL CHECK (length(address) <= 64),
      last_success_at timestamptz NOT NULL,
      PRIMARY KEY (user_id, address)
    )`

  yield* sql`ALTER TABLE audit_log ADD COLUMN aggregate_key text NULL`

  // Refills `key` and takes `cost`; the row is created full. Returns the tokens left (down to p_floor).
  yield* sql.unsafe(`
    CREATE FUNCTION auth_bucket_take(p_key text, p_now timestamptz, p_burst double precision, p_rate double precision,
                                     p_cost double precision, p_floor double precision)
    RETURNS double precision LANGUAGE sql AS $fn$
      INSERT INTO auth_rate_buckets AS b (key, tokens, updated_at)
      VALUES (p_key, greatest(p_floor, p_burst - p_cost), p_now)
      ON CONFLICT (key) DO UPDATE SET
        tokens = greatest(p_floor, least(p_burst, b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at)) * p_rate) - p_cost),
        updated_at = greatest(b.updated_at, p_now)
      RETURNING tokens
    $fn$`)

  // The tokens a bucket holds now, without changing it (a missing row is full).
  yield* sql.unsafe(`
    CREATE FUNCTION auth_bucket_level(p_key text, p_now timestamptz, p_burst double precision, p_rate double precision)
    RETURNS double precision LANGUAGE sql STABLE AS $fn$
      SELECT coalesce(
        (SELECT least(p_burst, tokens + greatest(0, extract(epoch FROM p_now - updated_at)) * p_rate) FROM auth_rate_buckets WHERE key = p_key),
        p_burst)
    $fn$`)

  // One audit row per action, address and minute; `count` says how many times it happened.
  yield* sql.unsafe(`
    CREATE FUNCTION auth_audit_aggregate(p_action text, p_address text, p_user_agent text, p_now timestamptz, p_detail jsonb)
    RETURNS void LANGUAGE sql AS $fn$
      INSERT INTO audit_log (organization_id, entity_type, entity_id, action, changes, ip, user_agent, created_at, aggregate_key)
      VALUES (NULL, 'client_address', p_address, p_action, p_detail || jsonb_build_object('count', 1), p_address, p_user_agent, p_now,
              p_action || ':' || p_address || ':' || coalesce(p_detail->>'refusedBy', '') || ':' || to_char(date_trunc('minute', p_now), 'YYYY-MM-DD"T"HH24:MI'))
      ON CONFLICT (aggregate_key) WHERE aggregate_key IS NOT NULL
      DO UPDATE SET changes = jsonb_set(audit_log.changes, '{count}', to_jsonb((audit_log.changes->>'count')::integer + 1))
    $fn$`)

  /*
   * One login attempt, before the password is checked: the address pays first (always, refused or
   * not); then the account, unless the attempt comes from an address where this email's user logged in
   * successfully within the proof window (the owner is not locked out by someone else's guesses). An
   * attempt refused for the account costs the account nothing. Refusals are audited, aggregated.
   */
  yield* sql.unsafe(`
    CREATE FUNCTION auth_login_take(p_address text, p_email text, p_user_agent text, p_now timestamptz,
                                    p_address_burst double precision, p_address_rate double precision,
                                    p_account_burst double precision, p_account_rate double precision,
                                    p_proof_window interval)
    RETURNS TABLE (allowed boolean, proven boolean, retry_after_seconds integer, refused_by text)
    LANGUAGE plpgsql AS $fn$
    DECLARE
      address_left double precision;
      account_level double precision;
      is_proven boolean;
      account_key text := 'login-account:' || p_email;
    BEGIN
      address_left := auth_bucket_take('login-address:' || p_address, p_now, p_address_burst, p_address_rate, 1, -p_address_burst);
      IF address_left < 0 THEN
        PERFORM auth_audit_aggregate('auth.login.refused', p_address, p_user_agent, p_now, jsonb_build_object('refusedBy', 'address'));
        RETURN QUERY SELECT false, false, greatest(1, ceil(-address_left / p_address_rate))::integer, 'address';
        RETURN;
      END IF;
      SELECT EXISTS (
        SELECT 1 FROM auth_login_proofs p JOIN users u ON u.id = p.user_id
         WHERE u.email = p_email AND p.address = p_address AND p.last_success_at > p_now - p_proof_window
      ) INTO is_proven;
      IF is_proven THEN
        RETURN QUERY SELECT true, true, NULL::integer, NULL::text;
        RETURN;
      END IF;
      PERFORM 1 FROM auth_rate_buckets WHERE key = account_key FOR UPDATE;
      account_level := auth_bucket_level(account_key, p_now, p_account_burst, p_account_rate);
      IF account_level < 1 THEN
        PERFORM auth_audit_aggregate('auth.login.refused', p_address, p_user_agent, p_now, jsonb_build_object('refusedBy', 'account'));
        RETURN QUERY SELECT false, false, greatest(1, ceil((1 - account_level) / p_account_rate))::integer, 'account';
        RETURN;
      END IF;
      PERFORM auth_bucket_take(account_key, p_now, p_account_burst, p_account_rate, 1, 0);
      RETURN QUERY SELECT true, false, NULL::integer, NULL::text;
    END
    $fn$`)

  // A successful login: the attempt's tokens go back, and the address is proven for this user.
  yield* sql.unsafe(`
    CREATE FUNCTION auth_login_succeeded(p_address text, p_email text, p_user_id uuid, p_now timestamptz, p_proven boolean,
                                         p_address_burst double precision, p_address_rate double precision,
                                         p_account_burst double precision, p_account_rate double precision)
    RETURNS void LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM auth_bucket_take('login-address:' || p_address, p_now, p_address_burst, p_address_rate, -1, -p_address_burst);
      IF NOT p_proven THEN
        PERFORM auth_bucket_take('login-account:' || p_email, p_now, p_account_burst, p_account_rate, -1, 0);
      END IF;
      INSERT INTO auth_login_proofs (user_id, address, last_success_at) VALUES (p_user_id, p_address, p_now)
      ON CONFLICT (user_id, address) DO UPDATE SET last_success_at = greatest(auth_login_proofs.last_success_at, p_now);
    END
    $fn$`)

  /*
   * auth_refresh (migrations/0002, 0004) behind a per-address limit on failed refreshes: an address whose
   * failures emptied its bucket is refused before any token is looked at; a failure costs one token.
   */
  yield* sql.unsafe(`
    CREATE FUNCTION auth_refresh_limited(
      p_fail_burst double precision, p_fail_rate double precision,
      p_selector uuid, p_secret_hash bytea, p_now timestamptz, p_idle interval, p_leeway interval,
      p_burst double precision, p_per_second double precision, p_new_selector uuid, p_new_hash bytea,
      p_ip text, p_user_agent text, p_channel text
    ) RETURNS TABLE (
      outcome text, session_id uuid, organization_id uuid, user_id uuid, role text, display_name text,
      absolute_expires_at timestamptz, retry_after_seconds integer, refused_by text
    )
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      fail_key text := 'refresh-fail:' || p_ip;
      level double precision;
      r record;
    BEGIN
      level := auth_bucket_level(fail_key, p_now, p_fail_burst, p_fail_rate);
      IF level < 1 THEN
        PERFORM auth_audit_aggregate('auth.refresh.refused', p_ip, p_user_agent, p_now, jsonb_build_object('refusedBy', 'address'));
        RETURN QUERY SELECT 'RATE_LIMITED', NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text, NULL::timestamptz,
                            greatest(1, ceil((1 - level) / p_fail_rate))::integer, 'address';
        RETURN;
      END IF;
      SELECT * INTO r FROM auth_refresh(p_selector, p_secret_hash, p_now, p_idle, p_leeway, p_burst, p_per_second,
                                        p_new_selector, p_new_hash, p_ip, p_user_agent, p_channel);
      IF r.outcome NOT IN ('ROTATED', 'REPLACED', 'RATE_LIMITED') THEN
        PERFORM auth_bucket_take(fail_key, p_now, p_fail_burst, p_fail_rate, 1, 0);
        PERFORM auth_audit_aggregate('auth.refresh.failed', p_ip, p_user_agent, p_now, jsonb_build_object('outcome', r.outcome));
      END IF;
      RETURN QUERY SELECT r.outcome, r.session_id, r.organization_id, r.user_id, r.role, r.display_name, r.absolute_expires_at,
                          r.retry_after_seconds, CASE WHEN r.outcome = 'RATE_LIMITED' THEN 'session' END;
    END
    $fn$`)
})
