import { SqlClient } from "@effect/sql"
import { Clock, Config, type ConfigError, Data, Effect, Option, Redacted } from "effect"
import { Directory } from "../../services/Directory.ts"
import type { OrganizationId, UserId } from "../domain/Ids.ts"
import { acme, type CaseStatus, categoryNames, customers, demoPassword, demoUsers, memberEmail, type MemberKey, memberKeys, operator } from "./DemoData.ts"

const demoSlugs = [operator.slug, ...customers.map((customer) => customer.slug)]

const loginHint = `log in as ${memberEmail(acme, "admin")} / ${demoPassword} (organization ${acme.slug})`

class DemoAlreadySeeded extends Data.TaggedError("DemoAlreadySeeded")<{ readonly slugs: ReadonlyArray<string> }> {}

/** The demo data cannot be loaded (it is already there). */
export class DemoSeedError extends Data.TaggedError("DemoSeedError")<{ readonly message: string }> {}

const healthAlertBelow = 70

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const lookup = <K, V>(map: ReadonlyMap<K, V>, key: K): V => {
  const value = map.get(key)
  if (value === undefined) throw new Error(`demo seed: nothing inserted for ${String(key)}`)
  return value
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted[Math.floor(sorted.length / 2)]
  return middle === undefined ? null : Math.round(middle)
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10)

const investigationStatus = (status: CaseStatus) =>
  status === "CLOSED" ? "CLOSED" : status === "PENDING" ? "ON_HOLD" : status === "IN_PROGRESS" ? "ACTIVE" : "OPEN"

const statusLabel: Readonly<Record<CaseStatus, string>> = {
  NEW: "new",
  OPEN: "open",
  IN_PROGRESS: "in progress",
  PENDING: "pending",
  CLOSED: "closed"
}

interface Counts {
  users: number
  categories: number
  cases: number
  rius: number
  links: number
  investigations: number
  notes: number
  caseNotes: number
  notifications: number
  campaigns: number
  assignments: number
  audit: number
  projects: number
  healthScores: number
}

type Notification = {
  readonly organization_id: OrganizationId
  readonly user_id: UserId
  readonly type: string
  readonly title: string
  readonly body: string
  readonly entity_type: string
  readonly entity_id: string
  readonly created_at: Date
  readonly read_at: Date | null
}

/** The two newest of each user's notifications stay unread. */
const withReadState = (now: number, items: ReadonlyArray<Omit<Notification, "read_at">>): Array<Notification> =>
  [...items]
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())
    .map((item, index) => ({
      ...item,
      read_at: index < 2 ? null : new Date(Math.min(now, item.created_at.getTime() + 3 * HOUR))
    }))

const byCreation = (a: Notification, b: Notification) => a.created_at.getTime() - b.created_at.getTime()

const ensureAbsent = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ slug: string }>`SELECT slug FROM organizations WHERE slug IN ${sql.in(demoSlugs)} ORDER BY slug`
  if (rows.length > 0) return yield* new DemoAlreadySeeded({ slugs: rows.map((row) => row.slug) })
})

const loadDemo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const directory = yield* Directory
  const now = yield* Clock.currentTimeMillis
  const ago = (days: number) => new Date(now - days * DAY)
  const year = new Date(now).getUTCFullYear()
  const counts: Counts = {
    users: 0,
    categories: 0,
    cases: 0,
    rius: 0,
    links: 0,
    investigations: 0,
    notes: 0,
    caseNotes: 0,
    notifications: 0,
    campaigns: 0,
    assignments: 0,
    audit: 0,
    projects: 0,
    healthScores: 0
  }

  const organizations = new Map<string, OrganizationId>()
  const onboarded = [operator, ...customers]
  for (const org of onboarded) {
    const id = yield* directory.createOrganization({ slug: org.slug, name: org.name }).pipe(
      Effect.catchTag("DirectoryError", (error) =>
        error.reason === "ORGANIZATION_EXISTS" ? new DemoAlreadySeeded({ slugs: [org.slug] }) : Effect.die(error))
    )
    organizations.set(org.slug, id)
  }

  const users = new Map<string, UserId>()
  const password = Redacted.make(demoPassword)
  for (const user of demoUsers) {
    const id = yield* directory
      .createUser({ organizationSlug: user.org, email: user.email, role: user.role, displayName: user.displayName, password })
      .pipe(Effect.orDie)
    users.set(user.email, id)
  }
  counts.users = users.size

  for (const org of onboarded) {
    const since = ago(org.onboardedDaysAgo)
    const organizationId = lookup(organizations, org.slug)
    yield* sql`UPDATE organizations SET created_at = ${since} WHERE id = ${organizationId}`
    yield* sql`UPDATE users SET created_at = ${since}, updated_at = ${since} WHERE organization_id = ${organizationId}`
  }

  const opsUser = lookup(users, operator.ops)
  const operatorStaff = demoUsers.filter((user) => user.org === operator.slug).map((user) => lookup(users, user.email))
  const operatorNotifications: Array<Omit<Notification, "read_at">> = []

  for (const customer of customers) {
    const organizationId = lookup(organizations, customer.slug)
    const member = (key: MemberKey) => lookup(users, memberEmail(customer, key))

    const categoryRows = yield* sql<{ id: string; name: string }>`
      INSERT INTO categories ${sql.insert(categoryNames.map((name) => ({ organization_id: organizationId, name, created_at: ago(customer.onboardedDaysAgo) })))}
      RETURNING id, name`
    const categories = new Map(categoryRows.map((row) => [row.name, row.id]))
    counts.categories += categoryRows.length

    const cases = customer.cases.map((seed, index) => {
      const createdAt = now - seed.daysAgo * DAY - (index % 4) * 2 * HOUR
      const span = seed.daysAgo * 0.8 * DAY
      return {
        seed,
        reference: `${customer.prefix}-${year}-${String(index + 1).padStart(4, "0")}`,
        createdAt,
        updatedAt: seed.status === "NEW" ? createdAt : createdAt + span,
        span
      }
    })
    const caseRows = yield* sql<{ id: string; reference: string }>`
      INSERT INTO cases ${sql.insert(cases.map((c) => ({
        organization_id: organizationId,
        reference: c.reference,
        title: c.seed.title,
        description: c.seed.description,
        status: c.seed.status,
        priority: c.seed.priority,
        category_id: lookup(categories, c.seed.category),
        created_by: member(c.seed.createdBy),
        created_at: new Date(c.createdAt),
        updated_at: new Date(c.updatedAt)
      })))}
      RETURNING id, reference`
    const caseIds = new Map(caseRows.map((row) => [row.reference, row.id]))
    const caseId = (reference: string) => lookup(caseIds, reference)
    const casesByReference = new Map(cases.map((c) => [c.reference, c]))
    counts.cases += caseRows.length

    const linked = cases.flatMap((c) => (c.seed.intake === undefined ? [] : [{ c, intake: c.seed.intake }]))
    const rius = [
      ...linked.map(({ c, intake }) => ({ ...intake, status: "LINKED", receivedAt: c.createdAt - 2 * HOUR, caseReference: c.reference })),
      ...customer.openIntake.map((intake) => ({ ...intake, receivedAt: now - intake.daysAgo * DAY, caseReference: undefined }))
    ]
      .sort((a, b) => a.receivedAt - b.receivedAt)
      .map((riu, index) => ({ ...riu, reference: `${customer.prefix}-RIU-${year}-${String(index + 1).padStart(4, "0")}` }))
    const riuRows = yield* sql<{ id: string; reference: string }>`
      INSERT INTO rius ${sql.insert(rius.map((riu) => ({
        organization_id: organizationId,
        reference: riu.reference,
        kind: riu.kind,
        status: riu.status,
        summary: riu.summary,
        reporter_anonymous: riu.anonymous,
        received_at: new Date(riu.receivedAt),
        created_at: new Date(riu.receivedAt + 10 * MINUTE),
        created_by: riu.kind === "DISCLOSURE" ? member("admin") : null
      })))}
      RETURNING id, reference`
    const riuIds = new Map(riuRows.map((row) => [row.reference, row.id]))
    counts.rius += riuRows.length

    const links = rius.flatMap((riu) => {
      const reference = riu.caseReference
      if (reference === undefined) return []
      const c = lookup(casesByReference, reference)
      return [{
        organization_id: organizationId,
        riu_id: lookup(riuIds, riu.reference),
        case_id: caseId(reference),
        created_at: new Date(c.createdAt),
        created_by: member(c.seed.createdBy)
      }]
    })
    yield* sql`INSERT INTO riu_case_associations ${sql.insert(links)}`
    counts.links += links.length

    const investigated = cases.flatMap((c) =>
      c.seed.investigation === undefined ? [] : [{ c, investigation: c.seed.investigation }]
    )
    const investigationRows = yield* sql<{ id: string; case_id: string }>`
      INSERT INTO investigations ${sql.insert(investigated.map(({ c, investigation }) => ({
        organization_id: organizationId,
        case_id: caseId(c.reference),
        status: investigationStatus(c.seed.status),
        primary_investigator_id: member(investigation.lead),
        created_at: new Date(c.createdAt + HOUR),
        updated_at: new Date(c.updatedAt),
        closed_at: c.seed.status === "CLOSED" ? new Date(c.updatedAt) : null
      })))}
      RETURNING id, case_id`
    const investigationIds = new Map(investigationRows.map((row) => [row.case_id, row.id]))
    counts.investigations += investigationRows.length

    const notes = investigated.flatMap(({ c, investigation }) =>
      investigation.notes.map(([author, body], index) => ({
        organization_id: organizationId,
        investigation_id: lookup(investigationIds, caseId(c.reference)),
        author_id: member(author),
        body,
        created_at: new Date(c.createdAt + (c.span * (index + 1)) / (investigation.notes.length + 1))
      }))
    )
    yield* sql`INSERT INTO investigation_notes ${sql.insert(notes)}`
    counts.notes += notes.length

    // The case's own notes: the triage, by the admin who routes cases, and the hand-over to its lead.
    const caseNotes = cases.filter((c) => c.seed.status !== "NEW").flatMap((c) => [
      {
        organization_id: organizationId,
        case_id: caseId(c.reference),
        author_id: member("admin"),
        body: `Triaged as ${c.seed.priority.toLowerCase()} priority, ${c.seed.category}.`,
        created_at: new Date(c.createdAt + 30 * MINUTE)
      },
      ...(c.seed.investigation === undefined ? [] : [{
        organization_id: organizationId,
        case_id: caseId(c.reference),
        author_id: member(c.seed.investigation.lead),
        body: "Investigation opened; I lead it.",
        created_at: new Date(c.createdAt + HOUR)
      }])
    ])
    if (caseNotes.length > 0) yield* sql`INSERT INTO case_notes ${sql.insert(caseNotes)}`
    counts.caseNotes += caseNotes.length

    const newestFirst = [...cases].sort((a, b) => b.createdAt - a.createdAt)
    const notifications = memberKeys.flatMap((key) => {
      const userId = member(key)
      const leads = newestFirst.filter((c) => c.seed.investigation?.lead === key)
      const chosen = [...leads, ...newestFirst.filter((c) => !leads.includes(c))].slice(0, 5)
      return withReadState(now, chosen.map((c) => {
        const common = { organization_id: organizationId, user_id: userId, entity_type: "case", entity_id: caseId(c.reference) }
        const about = `${c.seed.title} (${c.seed.priority.toLowerCase()} priority)`
        if (leads.includes(c)) {
          return { ...common, type: "INVESTIGATION_ASSIGNED", title: `You lead the investigation of ${c.reference}`, body: about, created_at: new Date(c.createdAt + HOUR) }
        }
        if (c.seed.status === "NEW") {
          return { ...common, type: "CASE_CREATED", title: `New case ${c.reference}`, body: about, created_at: new Date(c.createdAt + 5 * MINUTE) }
        }
        return {
          ...common,
          type: "CASE_STATUS_CHANGED",
          title: `${c.reference} is now ${statusLabel[c.seed.status]}`,
          body: about,
          created_at: new Date(c.updatedAt)
        }
      }))
    }).sort(byCreation)
    yield* sql`INSERT INTO notifications ${sql.insert(notifications)}`
    counts.notifications += notifications.length

    const campaign = customer.campaign
    const campaignDue = new Date(now + campaign.dueInDays * DAY)
    const [campaignRow] = yield* sql<{ id: string }>`
      INSERT INTO campaigns ${sql.insert({
        organization_id: organizationId,
        name: campaign.name(year),
        status: "ACTIVE",
        due_at: campaignDue,
        created_at: ago(campaign.createdDaysAgo)
      })}
      RETURNING id`
    counts.campaigns += 1
    const assignments = memberKeys.map((key) => {
      const assignment = campaign.assignments[key]
      return {
        organization_id: organizationId,
        campaign_id: campaignRow!.id,
        user_id: member(key),
        status: assignment.status,
        due_at: campaignDue,
        completed_at: assignment.completedDaysAgo === undefined ? null : ago(assignment.completedDaysAgo),
        created_at: ago(campaign.createdDaysAgo)
      }
    })
    yield* sql`INSERT INTO campaign_assignments ${sql.insert(assignments)}`
    counts.assignments += assignments.length

    const audit = cases.map((c) => ({
      organization_id: organizationId,
      actor_user_id: member(c.seed.createdBy),
      entity_type: "case",
      entity_id: caseId(c.reference),
      action: "case.created",
      changes: JSON.stringify({
        reference: c.reference,
        title: c.seed.title,
        status: "NEW",
        priority: c.seed.priority,
        categoryId: lookup(categories, c.seed.category)
      }),
      created_at: new Date(c.createdAt)
    }))
    yield* sql`INSERT INTO audit_log ${sql.insert(audit)}`
    counts.audit += audit.length

    for (const project of customer.projects) {
      const [row] = yield* sql<{ id: string }>`
        INSERT INTO implementation_projects ${sql.insert({
          organization_id: organizationId,
          name: project.name,
          status: project.status,
          owner_user_id: opsUser,
          target_go_live: isoDate(now + project.goLiveInDays * DAY),
          created_at: ago(project.createdDaysAgo),
          updated_at: ago(project.updatedDaysAgo)
        })}
        RETURNING id`
      counts.projects += 1
      for (const staff of operatorStaff) {
        operatorNotifications.push({
          organization_id: lookup(organizations, operator.slug),
          user_id: staff,
          type: "IMPLEMENTATION_UPDATE",
          title: `${customer.name}: ${project.name}`,
          body: `Status ${project.status.toLowerCase().replace("_", " ")}, target go-live ${isoDate(now + project.goLiveInDays * DAY)}.`,
          entity_type: "implementation_project",
          entity_id: row!.id,
          created_at: ago(project.updatedDaysAgo)
        })
      }
    }

    const closed = cases.filter((c) => c.seed.status === "CLOSED")
    const computedAt = new Date(now - HOUR)
    const [health] = yield* sql<{ id: string }>`
      INSERT INTO health_scores ${sql.insert({
        organization_id: organizationId,
        score: customer.health.score,
        components: JSON.stringify({
          weeklyActiveUsers: customer.health.weeklyActiveUsers,
          openCases: cases.length - closed.length,
          casesLast30Days: cases.filter((c) => c.createdAt >= now - 30 * DAY).length,
          medianDaysToClose: median(closed.map((c) => c.span / DAY)),
          campaignCompletion: assignments.filter((a) => a.status === "COMPLETED").length / assignments.length,
          slaBreaches: customer.health.slaBreaches
        }),
        computed_at: computedAt
      })}
      RETURNING id`
    counts.healthScores += 1
    if (customer.health.score >= healthAlertBelow) continue
    for (const staff of operatorStaff) {
      operatorNotifications.push({
        organization_id: lookup(organizations, operator.slug),
        user_id: staff,
        type: "HEALTH_SCORE_LOW",
        title: `${customer.name} health score dropped to ${customer.health.score}`,
        body: `${customer.health.weeklyActiveUsers} weekly active users, ${customer.health.slaBreaches} SLA breaches.`,
        entity_type: "health_score",
        entity_id: health!.id,
        created_at: computedAt
      })
    }
  }

  const staffNotifications = operatorStaff
    .flatMap((staff) => withReadState(now, operatorNotifications.filter((n) => n.user_id === staff)))
    .sort(byCreation)
  yield* sql`INSERT INTO notifications ${sql.insert(staffNotifications)}`
  counts.notifications += staffNotifications.length

  return [
    `seeded ${organizations.size} organizations, ${counts.users} users, ${counts.categories} categories, ${counts.cases} cases,`,
    `${counts.rius} RIUs (${counts.links} linked to cases), ${counts.investigations} investigations with ${counts.notes} notes, ${counts.caseNotes} case notes,`,
    `${counts.notifications} notifications, ${counts.campaigns} campaigns with ${counts.assignments} assignments,`,
    `${counts.audit} audit entries, ${counts.projects} implementation projects, ${counts.healthScores} health scores`,
    `— ${loginHint}`
  ].join(" ")
})

/** Loads the demo data; returns a short human summary (printed by `npm run cli -- seed demo`). Fails if the demo organizations already exist. */
export const seedDemo: Effect.Effect<string, DemoSeedError, SqlClient.SqlClient | Directory> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.zipRight(ensureAbsent, loadDemo))
}).pipe(
  Effect.catchTags({
    DemoAlreadySeeded: (error) =>
      new DemoSeedError({ message: `the demo data is already loaded (organizations ${error.slugs.join(", ")} exist); use a fresh database to seed again` }),
    SqlError: Effect.die
  })
)

/** Seeds only when the database holds no organization at all AND the database is the embedded one (DATABASE_URL unset), or when SEED_DEMO=true; SEED_DEMO=false disables it. Logs (Effect.logInfo) how to log in when it seeded. */
export const seedDemoIfEmpty: Effect.Effect<void, ConfigError.ConfigError, SqlClient.SqlClient | Directory> = Effect.gen(function* () {
  const requested = yield* Config.option(Config.boolean("SEED_DEMO"))
  const external = yield* Config.option(Config.redacted("DATABASE_URL"))
  if (!Option.getOrElse(requested, () => Option.isNone(external))) return
  const sql = yield* SqlClient.SqlClient
  const seeded = yield* sql.withTransaction(
    Effect.gen(function* () {
      const [row] = yield* sql<{ present: boolean }>`SELECT EXISTS (SELECT 1 FROM organizations) AS present`
      return row?.present === true ? Option.none() : Option.some(yield* loadDemo)
    })
  )
  if (Option.isSome(seeded)) yield* Effect.logInfo(`empty database, demo data loaded: ${seeded.value}`)
}).pipe(
  Effect.catchTags({
    DemoAlreadySeeded: () => Effect.logInfo("demo data was loaded by another process"),
    SqlError: Effect.die
  })
)
