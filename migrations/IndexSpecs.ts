export interface IndexSpec {
  /** index name, <= 63 chars, prefix "ix_" */
  readonly name: string
  readonly table: string
  /** the column/expression list inside USING btree ( ... ), e.g. "organization_id, created_at DESC" */
  readonly columns: string
  /** optional partial-index predicate, without the WHERE keyword */
  readonly where?: string
  readonly unique?: boolean
  /** the query this index serves, e.g. "list cases of an org by status (Cases.list filter)" */
  readonly serves: string
}

/**
 * Indexes on tables of 0001_core_schema. Left out on purpose, because a primary key or UNIQUE
 * constraint already leads with the column(s): users (organization_id, email | id), categories
 * (organization_id, name | id), cases and rius (organization_id, reference | id),
 * riu_case_associations (riu_id, case_id),
 * auth_sessions (id, organization_id, user_id), campaign_assignments (campaign_id, user_id),
 * ai_messages (conversation_id, id | client_message_id), ai_conversations (organization_id, id).
 */
export const indexSpecs: ReadonlyArray<IndexSpec> = [
  {
    name: "ix_auth_sessions_user_created",
    table: "auth_sessions",
    columns: "user_id, created_at DESC",
    serves:
      "list a user's sessions newest first (my sessions); revoke-all of a user; FK (organization_id, user_id) -> users ON DELETE CASCADE"
  },
  {
    name: "ix_auth_sessions_org_created",
    table: "auth_sessions",
    columns: "organization_id, created_at DESC",
    serves: "ADMIN lists the sessions of their organization newest first"
  },
  {
    name: "ix_auth_sessions_absolute_expiry",
    table: "auth_sessions",
    columns: "absolute_expires_at",
    serves: "housekeeping deletes sessions with absolute_expires_at < now() in batches"
  },
  {
    name: "ix_auth_sessions_revoked",
    table: "auth_sessions",
    columns: "revoked_at",
    where: "revoked_at IS NOT NULL",
    serves: "housekeeping deletes sessions revoked before now() - retention, in batches"
  },
  {
    name: "ix_auth_refresh_tokens_session",
    table: "auth_refresh_tokens",
    columns: "session_id, generation",
    serves: "revoke a session's live tokens (Sessions.revoke*), the ON DELETE CASCADE from auth_sessions"
  },
  {
    name: "ix_auth_refresh_tokens_rotated",
    table: "auth_refresh_tokens",
    columns: "rotated_at",
    where: "rotated_at IS NOT NULL",
    serves: "housekeeping deletes spent (rotated) refresh tokens with rotated_at < now() - retention"
  },
  {
    name: "ix_audit_log_org_created",
    table: "audit_log",
    columns: "organization_id, created_at DESC",
    serves: "audit trail of an organization newest first (AuditLog.list); FK organization_id -> organizations"
  },
  {
    name: "ix_audit_log_entity",
    table: "audit_log",
    columns: "entity_type, entity_id, created_at DESC",
    serves: "history of one entity (entity_type = $1 AND entity_id = $2) newest first"
  },
  {
    name: "ix_audit_log_actor_created",
    table: "audit_log",
    columns: "actor_user_id, created_at DESC",
    serves: "what a user did (actor_user_id = $1) newest first"
  },
  {
    name: "ix_audit_log_staff_created",
    table: "audit_log",
    columns: "acting_staff_user_id, created_at DESC",
    where: "acting_staff_user_id IS NOT NULL",
    serves: "what an OPS staff user did while impersonating (acting_staff_user_id = $1) newest first"
  },
  {
    name: "ix_notifications_user_created",
    table: "notifications",
    columns: "user_id, id DESC",
    serves:
      "get_recent: a user's notifications newest first with keyset (id < $cursor) pagination and resume after reconnect (id > $last); FK (organization_id, user_id) -> users ON DELETE CASCADE"
  },
  {
    name: "ix_notifications_user_unread",
    table: "notifications",
    columns: "user_id",
    where: "read_at IS NULL",
    serves: "unread count of a user and mark-all-read (user_id = $1 AND read_at IS NULL)"
  },
  {
    name: "ix_categories_parent",
    table: "categories",
    columns: "parent_id",
    where: "parent_id IS NOT NULL",
    serves: "child categories of a category; FK (organization_id, parent_id) -> categories check on delete"
  },
  {
    name: "ix_cases_org_status_created",
    table: "cases",
    columns: "organization_id, status, created_at DESC, id DESC",
    serves:
      "Cases.List status filter: keyset page newest first, (created_at, id) < cursor, read in index order with no sort (test/e2e/ReadsExplain.test.ts)"
  },
  {
    name: "ix_cases_org_created",
    table: "cases",
    columns: "organization_id, created_at DESC, id DESC",
    serves:
      "Cases.List without filter: keyset page newest first, (created_at, id) < cursor, id the tie-breaker, no sort; FK organization_id -> organizations"
  },
  {
    name: "ix_cases_org_priority_created",
    table: "cases",
    columns: "organization_id, priority, created_at DESC, id DESC",
    serves: "Cases.List priority filter: keyset page newest first with no sort; counts by priority (and status, as a filter)"
  },
  {
    name: "ix_cases_org_category_created",
    table: "cases",
    columns: "organization_id, category_id, created_at DESC, id DESC",
    where: "category_id IS NOT NULL",
    serves:
      "Cases.List category filter: keyset page newest first with no sort; FK (organization_id, category_id) -> categories check on delete"
  },
  {
    name: "ix_cases_org_created_by",
    table: "cases",
    columns: "organization_id, created_by",
    serves: "cases created by a user; FK (organization_id, created_by) -> users check on delete"
  },
  {
    name: "ix_rius_org_status_created",
    table: "rius",
    columns: "organization_id, status, created_at DESC, id DESC",
    serves: "Rius.List status filter (the intake queue): keyset page newest first, (created_at, id) < cursor, no sort"
  },
  {
    name: "ix_rius_org_created",
    table: "rius",
    columns: "organization_id, created_at DESC, id DESC",
    serves: "Rius.List without filter: keyset page newest first, no sort; FK organization_id -> organizations"
  },
  {
    name: "ix_rius_org_created_by",
    table: "rius",
    columns: "organization_id, created_by",
    where: "created_by IS NOT NULL",
    serves: "RIUs entered by a user; FK (organization_id, created_by) -> users check on delete"
  },
  {
    name: "ix_riu_case_associations_case",
    table: "riu_case_associations",
    columns: "case_id",
    serves:
      "RIU links of a batch of cases (case_id = ANY($1)) in the case loader; FK (organization_id, case_id) -> cases ON DELETE CASCADE"
  },
  {
    name: "ix_riu_case_associations_created_by",
    table: "riu_case_associations",
    columns: "created_by",
    where: "created_by IS NOT NULL",
    serves: "FK (organization_id, created_by) -> users check on user delete"
  },
  {
    name: "ix_investigations_case",
    table: "investigations",
    columns: "case_id",
    serves:
      "investigations of a batch of cases (case_id = ANY($1)) in the case loader; FK (organization_id, case_id) -> cases check on delete"
  },
  {
    name: "ix_investigations_org_status",
    table: "investigations",
    columns: "organization_id, status",
    serves: "list investigations of an org by status (Investigations.list filter)"
  },
  {
    name: "ix_investigations_org_primary",
    table: "investigations",
    columns: "organization_id, primary_investigator_id",
    where: "primary_investigator_id IS NOT NULL",
    serves:
      "investigations an INVESTIGATOR leads (authorization check and 'my investigations'); FK (organization_id, primary_investigator_id) -> users check on delete"
  },
  {
    name: "ix_investigation_notes_investigation_created",
    table: "investigation_notes",
    columns: "investigation_id, created_at",
    serves:
      "notes of a batch of investigations (investigation_id = ANY($1)) in creation order; FK (organization_id, investigation_id) -> investigations check on delete"
  },
  {
    name: "ix_investigation_notes_author",
    table: "investigation_notes",
    columns: "author_id",
    serves: "notes written by a user; FK (organization_id, author_id) -> users check on delete"
  },
  {
    name: "ix_case_notes_case_created",
    table: "case_notes",
    columns: "case_id, created_at",
    serves:
      "notes of a batch of cases in creation order (Loaders.notesOfCases: case_id = ANY($ids)); FK (organization_id, case_id) -> cases ON DELETE CASCADE"
  },
  {
    name: "ix_case_notes_author",
    table: "case_notes",
    columns: "author_id",
    serves: "case notes written by a user; FK (organization_id, author_id) -> users check on delete"
  },
  {
    name: "ix_campaigns_org_status",
    table: "campaigns",
    columns: "organization_id, status, created_at DESC",
    serves: "list campaigns of an org by status, newest first"
  },
  {
    name: "ix_campaign_assignments_user_status",
    table: "campaign_assignments",
    columns: "user_id, status",
    serves:
      "a user's campaign assignments by status (my open assignments); FK (organization_id, user_id) -> users check on delete"
  },
  {
    name: "ix_campaign_assignments_open_due",
    table: "campaign_assignments",
    columns: "due_at",
    where: "status IN ('PENDING', 'IN_PROGRESS') AND due_at IS NOT NULL",
    serves: "housekeeping marks open assignments with due_at < now() as OVERDUE"
  },
  {
    name: "ix_impersonation_sessions_staff_created",
    table: "impersonation_sessions",
    columns: "staff_user_id, created_at DESC",
    serves: "impersonation sessions of an OPS staff user newest first (current one, history); FK staff_user_id -> users"
  },
  {
    name: "ix_impersonation_sessions_target_org_created",
    table: "impersonation_sessions",
    columns: "target_organization_id, created_at DESC",
    serves: "who impersonated users of an organization, newest first (tenant-visible audit); FK -> organizations"
  },
  {
    name: "ix_impersonation_sessions_target_user",
    table: "impersonation_sessions",
    columns: "target_user_id",
    serves: "impersonations of a user; FK target_user_id and (target_organization_id, target_user_id) -> users"
  },
  {
    name: "ix_impersonation_sessions_active_expiry",
    table: "impersonation_sessions",
    columns: "expires_at",
    where: "ended_at IS NULL",
    serves: "housekeeping ends impersonation sessions with ended_at IS NULL AND expires_at < now()"
  },
  {
    name: "ix_implementation_projects_org_status",
    table: "implementation_projects",
    columns: "organization_id, status",
    serves: "implementation projects of an organization by status; FK organization_id -> organizations"
  },
  {
    name: "ix_implementation_projects_status_go_live",
    table: "implementation_projects",
    columns: "status, target_go_live",
    serves: "OPS pipeline across organizations: projects by status ordered by target go-live date"
  },
  {
    name: "ix_implementation_projects_owner",
    table: "implementation_projects",
    columns: "owner_user_id",
    where: "owner_user_id IS NOT NULL",
    serves: "projects owned by an OPS user; FK owner_user_id -> users check on delete"
  },
  {
    name: "ix_health_scores_org_computed",
    table: "health_scores",
    columns: "organization_id, computed_at DESC",
    serves: "latest health score of an organization and its history newest first; FK organization_id -> organizations"
  },
  {
    name: "ix_ai_conversations_user_updated",
    table: "ai_conversations",
    columns: "user_id, updated_at DESC",
    serves: "a user's AI conversations, most recently active first; FK (organization_id, user_id) -> users check on delete"
  },
  {
    name: "ix_ai_conversations_case",
    table: "ai_conversations",
    columns: "case_id",
    where: "case_id IS NOT NULL",
    serves: "AI conversations about a case; FK (organization_id, case_id) -> cases check on delete"
  },
  {
    name: "ix_ai_actions_conversation_created",
    table: "ai_actions",
    columns: "conversation_id, created_at",
    serves:
      "actions of a conversation in proposal order (resume, approval lookup); FK (organization_id, conversation_id) -> ai_conversations ON DELETE CASCADE"
  },
  {
    name: "ix_ai_actions_message",
    table: "ai_actions",
    columns: "message_id",
    where: "message_id IS NOT NULL",
    serves: "actions proposed in a message; FK message_id -> ai_messages ON DELETE CASCADE"
  },
  {
    name: "ix_ai_actions_org_proposed",
    table: "ai_actions",
    columns: "organization_id, created_at",
    where: "status = 'PROPOSED'",
    serves: "approval queue: PROPOSED actions of an organization, oldest first"
  },
  {
    name: "ix_ai_actions_proposed_by",
    table: "ai_actions",
    columns: "proposed_by",
    serves: "actions proposed on behalf of a user; FK (organization_id, proposed_by) -> users check on delete"
  },
  {
    name: "ix_ai_actions_approved_by",
    table: "ai_actions",
    columns: "approved_by",
    where: "approved_by IS NOT NULL",
    serves: "actions approved by a user; FK (organization_id, approved_by) -> users check on delete"
  },
  {
    name: "ix_users_email",
    table: "users",
    columns: "email",
    serves: "login finds the users with an email across organizations (one answer when it is unique); the login limit's proof lookup (auth_login_take)"
  },
  {
    name: "ux_audit_log_aggregate",
    table: "audit_log",
    columns: "aggregate_key",
    where: "aggregate_key IS NOT NULL",
    unique: true,
    serves: "one audit row per action, address and minute for refusals and failed refreshes (auth_audit_aggregate's ON CONFLICT)"
  }
]

/**
 * Indexes once declared and now dropped (CONCURRENTLY, by the same step, after the declared ones are built:
 * a superseded index is dropped only once its replacement serves its queries), with why. A rotation updates
 * `idle_expires_at`; while an index covered it, no update of auth_sessions could be HOT, so every
 * refresh wrote all of the table's indexes and the table bloated between vacuums (issue 6).
 */
export const retiredIndexes: ReadonlyArray<{ readonly name: string; readonly why: string }> = [
  {
    name: "ix_auth_sessions_idle_expiry",
    why: "rotation updates idle_expires_at: the index made every refresh a non-HOT update; housekeeping finds idle-expired sessions by their absolute expiry (at most SESSION_ABSOLUTE_TIMEOUT later)"
  },
  {
    name: "ix_cases_org_priority_status",
    why: "(organization_id, priority, status) made every priority page sort; ix_cases_org_priority_created serves the page in index order and a count by priority (status as a filter). Renamed rather than redefined: the old name would describe other columns"
  },
  {
    name: "ix_cases_org_category",
    why: "(organization_id, category_id) made every category page sort; ix_cases_org_category_created leads with the same columns, so it also serves the foreign key check"
  }
]
