import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE organizations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
      name text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
      status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'SUSPENDED')),
      created_at timestamptz NOT NULL DEFAULT now()
    )`

  yield* sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      email text NOT NULL CHECK (email = lower(email) AND position('@' in email) > 1 AND length(email) <= 254),
      password_hash text NOT NULL CHECK (password_hash <> ''),
      display_name text NOT NULL CHECK (btrim(display_name) <> '' AND length(display_name) <= 200),
      role text NOT NULL DEFAULT 'VIEWER' CHECK (role IN ('ADMIN', 'INVESTIGATOR', 'VIEWER', 'OPS')),
      status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'SUSPENDED')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, email),
      UNIQUE (organization_id, id)
    )`

  yield* sql`
    CREATE TABLE auth_sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      user_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_refreshed_at timestamptz NOT NULL DEFAULT now(),
      idle_expires_at timestamptz NOT NULL,
      absolute_expires_at timestamptz NOT NULL,
      revoked_at timestamptz NULL,
      revoked_reason text NULL CHECK (
        revoked_reason IN ('LOGOUT', 'REVOKED', 'REVOKE_ALL', 'REUSE_DETECTED', 'USER_DEACTIVATED', 'ADMIN', 'EXPIRED')
      ),
      current_generation integer NOT NULL DEFAULT 0 CHECK (current_generation >= 0),
      user_agent text NULL,
      ip text NULL,
      FOREIGN KEY (organization_id, user_id) REFERENCES users(organization_id, id) ON DELETE CASCADE,
      UNIQUE (id, organization_id, user_id),
      CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL)),
      CHECK (idle_expires_at <= absolute_expires_at)
    )`

  yield* sql`
    CREATE TABLE auth_refresh_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      session_id uuid NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
      organization_id uuid NOT NULL,
      user_id uuid NOT NULL,
      secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
      generation integer NOT NULL CHECK (generation >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      rotated_at timestamptz NULL,
      revoked_at timestamptz NULL,
      FOREIGN KEY (session_id, organization_id, user_id)
        REFERENCES auth_sessions(id, organization_id, user_id) ON DELETE CASCADE,
      -- Exactly one live token per session (one family), checked at commit so a rotation can spend
      -- the old token and insert the new one in any order within its transaction.
      CONSTRAINT auth_refresh_tokens_one_live EXCLUDE USING btree (session_id WITH =)
        WHERE (rotated_at IS NULL AND revoked_at IS NULL) DEFERRABLE INITIALLY DEFERRED
    )`

  yield* sql`
    CREATE TABLE audit_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NULL REFERENCES organizations(id),
      actor_user_id uuid NULL,
      acting_staff_user_id uuid NULL,
      session_id uuid NULL,
      entity_type text NOT NULL CHECK (entity_type <> ''),
      entity_id text NULL,
      action text NOT NULL CHECK (action <> ''),
      changes jsonb NOT NULL DEFAULT '{}',
      ip text NULL,
      user_agent text NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`

  yield* sql`
    CREATE TABLE notifications (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations(id),
      user_id uuid NOT NULL,
      type text NOT NULL DEFAULT 'GENERAL' CHECK (type <> '' AND length(type) <= 64),
      title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
      body text NOT NULL CHECK (length(body) <= 4000),
      entity_type text NULL,
      entity_id uuid NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      read_at timestamptz NULL,
      FOREIGN KEY (organization_id, user_id) REFERENCES users(organization_id, id) ON DELETE CASCADE,
      CHECK (entity_id IS NULL OR entity_type IS NOT NULL)
    )`

  yield* sql`
    CREATE TABLE categories (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      name text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
      parent_id uuid NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, name),
      UNIQUE (organization_id, id),
      FOREIGN KEY (organization_id, parent_id) REFERENCES categories(organization_id, id),
      CHECK (parent_id <> id)
    )`

  yield* sql`
    CREATE TABLE cases (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      reference text NOT NULL CHECK (btrim(reference) <> '' AND length(reference) <= 64),
      title text NOT NULL CHECK (btrim(title) <> '' AND length(title) <= 500),
      description text NOT NULL DEFAULT '' CHECK (length(description) <= 100000),
      status text NOT NULL DEFAULT 'NEW' CHECK (status IN ('NEW', 'OPEN', 'IN_PROGRESS', 'PENDING', 'CLOSED')),
      priority text NOT NULL DEFAULT 'MEDIUM' CHECK (priority IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
      category_id uuid NULL,
      created_by uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, reference),
      UNIQUE (organization_id, id),
      FOREIGN KEY (organization_id, category_id) REFERENCES categories(organization_id, id),
      FOREIGN KEY (organization_id, created_by) REFERENCES users(organization_id, id)
    )`

  yield* sql`
    CREATE TABLE rius (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      reference text NOT NULL CHECK (btrim(reference) <> '' AND length(reference) <= 64),
      kind text NOT NULL CHECK (kind IN ('HOTLINE_REPORT', 'WEB_FORM', 'DISCLOSURE')),
      status text NOT NULL DEFAULT 'RECEIVED' CHECK (status IN ('RECEIVED', 'TRIAGED', 'LINKED', 'CLOSED')),
      summary text NOT NULL CHECK (length(summary) <= 20000),
      reporter_anonymous boolean NOT NULL DEFAULT false,
      received_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by uuid NULL,
      UNIQUE (organization_id, reference),
      UNIQUE (organization_id, id),
      FOREIGN KEY (organization_id, created_by) REFERENCES users(organization_id, id)
    )`

  yield* sql`
    CREATE TABLE riu_case_associations (
      organization_id uuid NOT NULL REFERENCES organizations(id),
      riu_id uuid NOT NULL,
      case_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by uuid NULL,
      PRIMARY KEY (riu_id, case_id),
      FOREIGN KEY (organization_id, riu_id) REFERENCES rius(organization_id, id) ON DELETE CASCADE,
      FOREIGN KEY (organization_id, case_id) REFERENCES cases(organization_id, id) ON DELETE CASCADE,
      FOREIGN KEY (organization_id, created_by) REFERENCES users(organization_id, id)
    )`

  yield* sql`
    CREATE TABLE investigations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      case_id uuid NOT NULL,
      status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'ACTIVE', 'ON_HOLD', 'CLOSED')),
      primary_investigator_id uuid NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      closed_at timestamptz NULL,
      UNIQUE (organization_id, id),
      FOREIGN KEY (organization_id, case_id) REFERENCES cases(organization_id, id),
      FOREIGN KEY (organization_id, primary_investigator_id) REFERENCES users(organization_id, id)
    )`

  yield* sql`
    CREATE TABLE investigation_notes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      investigation_id uuid NOT NULL,
      author_id uuid NOT NULL,
      body text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (organization_id, investigation_id) REFERENCES investigations(organization_id, id),
      FOREIGN KEY (organization_id, author_id) REFERENCES users(organization_id, id)
    )`

  yield* sql`
    CREATE TABLE campaigns (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      name text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
      status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'ACTIVE', 'COMPLETED', 'ARCHIVED')),
      due_at timestamptz NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, id)
    )`

  yield* sql`
    CREATE TABLE campaign_assignments (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      campaign_id uuid NOT NULL,
      user_id uuid NOT NULL,
      status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'OVERDUE')),
      due_at timestamptz NULL,
      completed_at timestamptz NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (campaign_id, user_id),
      FOREIGN KEY (organization_id, campaign_id) REFERENCES campaigns(organization_id, id) ON DELETE CASCADE,
      FOREIGN KEY (organization_id, user_id) REFERENCES users(organization_id, id)
    )`

  yield* sql`
    CREATE TABLE impersonation_sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      staff_user_id uuid NOT NULL REFERENCES users(id),
      target_user_id uuid NOT NULL REFERENCES users(id),
      target_organization_id uuid NOT NULL REFERENCES organizations(id),
      reason text NOT NULL CHECK (length(btrim(reason)) >= 10 AND length(reason) <= 2000),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      ended_at timestamptz NULL,
      FOREIGN KEY (target_organization_id, target_user_id) REFERENCES users(organization_id, id),
      CHECK (staff_user_id <> target_user_id),
      CHECK (expires_at > created_at),
      CHECK (ended_at IS NULL OR ended_at >= created_at)
    )`

  yield* sql`
    CREATE TABLE implementation_projects (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      name text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
      status text NOT NULL DEFAULT 'PLANNING' CHECK (status IN ('PLANNING', 'IN_PROGRESS', 'LIVE', 'ON_HOLD')),
      owner_user_id uuid NULL REFERENCES users(id),
      target_go_live date NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`

  yield* sql`
    CREATE TABLE health_scores (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      score integer NOT NULL CHECK (score BETWEEN 0 AND 100),
      components jsonb NOT NULL DEFAULT '{}',
      computed_at timestamptz NOT NULL DEFAULT now()
    )`

  yield* sql`
    CREATE TABLE ai_conversations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      user_id uuid NOT NULL,
      case_id uuid NULL,
      title text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
      status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'PAUSED', 'ARCHIVED')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, id),
      FOREIGN KEY (organization_id, user_id) REFERENCES users(organization_id, id),
      FOREIGN KEY (organization_id, case_id) REFERENCES cases(organization_id, id)
    )`

  yield* sql`
    CREATE TABLE ai_messages (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations(id),
      conversation_id uuid NOT NULL,
      role text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
      content text NOT NULL DEFAULT '',
      client_message_id text NULL CHECK (client_message_id <> '' AND length(client_message_id) <= 128),
      stop_reason text NULL,
      usage jsonb NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (conversation_id, client_message_id),
      UNIQUE (conversation_id, id),
      FOREIGN KEY (organization_id, conversation_id) REFERENCES ai_conversations(organization_id, id) ON DELETE CASCADE
    )`

  yield* sql`
    CREATE TABLE ai_actions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id),
      conversation_id uuid NOT NULL,
      message_id bigint NULL REFERENCES ai_messages(id) ON DELETE CASCADE,
      action text NOT NULL CHECK (action <> '' AND length(action) <= 128),
      input jsonb NOT NULL,
      status text NOT NULL DEFAULT 'PROPOSED' CHECK (
        status IN ('PROPOSED', 'APPROVED', 'REJECTED', 'EXECUTED', 'FAILED', 'FORBIDDEN')
      ),
      proposed_by uuid NOT NULL,
      approved_by uuid NULL,
      executed_at timestamptz NULL,
      result jsonb NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (organization_id, conversation_id) REFERENCES ai_conversations(organization_id, id) ON DELETE CASCADE,
      FOREIGN KEY (conversation_id, message_id) REFERENCES ai_messages(conversation_id, id) ON DELETE CASCADE,
      FOREIGN KEY (organization_id, proposed_by) REFERENCES users(organization_id, id),
      FOREIGN KEY (organization_id, approved_by) REFERENCES users(organization_id, id)
    )`
})
