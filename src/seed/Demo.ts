import { SqlClient } from "@effect/sql"
import { Clock, Config, type ConfigError, Data, Effect, Option, Redacted } from "effect"
import { Directory } from "../../services/Directory.ts"
import { CliError } from "../cli/CliError.ts"
import type { OrganizationId, UserId } from "../domain/Ids.ts"
import type { Role } from "../domain/Roles.ts"

export const demoPassword = "demo-password-2026"

type CategoryName = "Fraud" | "Harassment" | "Conflict of Interest" | "Data Privacy" | "Safety"
type CaseStatus = "NEW" | "OPEN" | "IN_PROGRESS" | "PENDING" | "CLOSED"
type Priority = "LOW" | "MEDIUM" | "HIGH" | "CRITICAL"
type RiuKind = "HOTLINE_REPORT" | "WEB_FORM" | "DISCLOSURE"
type MemberKey = "admin" | "investigator" | "investigator2" | "viewer"
type Investigator = "investigator" | "investigator2"
type AssignmentStatus = "PENDING" | "IN_PROGRESS" | "COMPLETED" | "OVERDUE"

interface Intake {
  readonly kind: RiuKind
  readonly anonymous: boolean
  readonly summary: string
}

interface CaseSeed {
  readonly daysAgo: number
  readonly title: string
  readonly description: string
  readonly category: CategoryName
  readonly status: CaseStatus
  readonly priority: Priority
  readonly createdBy: Exclude<MemberKey, "viewer">
  readonly intake?: Intake
  readonly investigation?: {
    readonly lead: Investigator
    readonly notes: ReadonlyArray<readonly [Investigator, string]>
  }
}

interface CustomerSeed {
  readonly slug: string
  readonly name: string
  readonly prefix: string
  readonly onboardedDaysAgo: number
  readonly members: Readonly<Record<MemberKey, string>>
  readonly cases: ReadonlyArray<CaseSeed>
  readonly openIntake: ReadonlyArray<Intake & { readonly daysAgo: number; readonly status: "RECEIVED" | "TRIAGED" }>
  readonly campaign: {
    readonly name: (year: number) => string
    readonly createdDaysAgo: number
    readonly dueInDays: number
    readonly assignments: Readonly<Record<MemberKey, { readonly status: AssignmentStatus; readonly completedDaysAgo?: number }>>
  }
  readonly projects: ReadonlyArray<{
    readonly name: string
    readonly status: "PLANNING" | "IN_PROGRESS" | "LIVE" | "ON_HOLD"
    readonly createdDaysAgo: number
    readonly updatedDaysAgo: number
    readonly goLiveInDays: number
  }>
  readonly health: { readonly score: number; readonly weeklyActiveUsers: number; readonly slaBreaches: number }
}

const categoryNames: ReadonlyArray<CategoryName> = ["Fraud", "Harassment", "Conflict of Interest", "Data Privacy", "Safety"]

const memberRoles: Readonly<Record<MemberKey, Role>> = {
  admin: "ADMIN",
  investigator: "INVESTIGATOR",
  investigator2: "INVESTIGATOR",
  viewer: "VIEWER"
}

const memberKeys: ReadonlyArray<MemberKey> = ["admin", "investigator", "investigator2", "viewer"]

const acme: CustomerSeed = {
  slug: "acme",
  name: "Acme Corporation",
  prefix: "ACME",
  onboardedDaysAgo: 150,
  members: { admin: "Alice Morgan", investigator: "Ben Carter", investigator2: "Priya Nair", viewer: "Victor Lee" },
  cases: [
    {
      daysAgo: 58,
      title: "Duplicate vendor invoices approved in regional procurement",
      description: "Invoices from a packaging supplier appear to have been paid twice; the approver may be related to the supplier's owner.",
      category: "Fraud",
      status: "CLOSED",
      priority: "HIGH",
      createdBy: "investigator",
      intake: {
        kind: "HOTLINE_REPORT",
        anonymous: true,
        summary: "Caller reports that the same packaging invoices were paid twice in the spring and that the approver is related to the vendor's owner."
      },
      investigation: {
        lead: "investigator",
        notes: [
          ["investigator", "Pulled the AP ledger for the vendor: three invoice numbers paid twice, USD 48,200 in total."],
          ["investigator2", "Interviewed the regional procurement lead; approvals were made from a shared login. Requested access logs from IT."],
          ["investigator", "Access logs tie the duplicate approvals to one workstation. Referred to HR and Finance, recovery of funds started. Closing as substantiated."]
        ]
      }
    },
    {
      daysAgo: 53,
      title: "Repeated derogatory comments by a night shift supervisor",
      description: "An employee at the Dayton plant reports repeated comments about accent and nationality by a shift supervisor.",
      category: "Harassment",
      status: "CLOSED",
      priority: "MEDIUM",
      createdBy: "admin",
      intake: {
        kind: "WEB_FORM",
        anonymous: false,
        summary: "Night shift employee at the Dayton plant reports repeated derogatory comments about accent and nationality by a shift supervisor; names two witnesses."
      },
      investigation: {
        lead: "investigator2",
        notes: [
          ["investigator2", "Reporter interviewed; two witnesses named, both on the same shift."],
          ["investigator2", "Both witnesses corroborate at least three incidents over the past month."],
          ["investigator", "Supervisor interviewed with HR present; partial admission. Recommended a written warning and mandatory training. Closed as substantiated."]
        ]
      }
    },
    {
      daysAgo: 47,
      title: "Customer list emailed to a personal account",
      description: "Data loss prevention alert: a sales coordinator sent a customer export to a personal address. File deleted, deletion confirmed, employee coached.",
      category: "Data Privacy",
      status: "CLOSED",
      priority: "LOW",
      createdBy: "admin"
    },
    {
      daysAgo: 41,
      title: "Undisclosed ownership stake in a logistics supplier",
      description: "A warehouse operations manager disclosed late that a spouse holds a stake in a logistics supplier selected while the manager sat on the selection committee.",
      category: "Conflict of Interest",
      status: "PENDING",
      priority: "MEDIUM",
      createdBy: "investigator2",
      intake: {
        kind: "DISCLOSURE",
        anonymous: false,
        summary: "Warehouse operations manager discloses a 15% ownership stake held by their spouse in a logistics supplier onboarded last year."
      },
      investigation: {
        lead: "investigator2",
        notes: [
          ["investigator2", "Confirmed the supplier's onboarding date and the manager's seat on the selection committee."],
          ["investigator2", "Waiting for Legal's opinion on whether the stake required recusal at the time of selection."]
        ]
      }
    },
    {
      daysAgo: 36,
      title: "Expense reports with fabricated client dinners",
      description: "A sales director allegedly claims client dinners that did not take place, supported by altered receipts.",
      category: "Fraud",
      status: "IN_PROGRESS",
      priority: "CRITICAL",
      createdBy: "investigator",
      intake: {
        kind: "HOTLINE_REPORT",
        anonymous: true,
        summary: "Caller states that a sales director submits expense reports for client dinners that never happened, with altered receipts."
      },
      investigation: {
        lead: "investigator",
        notes: [
          ["investigator", "Sampled 40 expense lines from the last two quarters; 11 receipts show signs of alteration."],
          ["investigator2", "Contacted three of the listed clients; two confirm no dinner took place on the dates claimed."],
          ["investigator", "Requested a forensic review of the corporate card from Finance."],
          ["investigator", "Interview with the sales director scheduled for next week, HR to attend."]
        ]
      }
    },
    {
      daysAgo: 30,
      title: "Forklift operated with a disabled safety interlock",
      description: "The seat interlock on forklift 7 in the Reno warehouse has reportedly been bypassed for several weeks.",
      category: "Safety",
      status: "IN_PROGRESS",
      priority: "HIGH",
      createdBy: "admin",
      intake: {
        kind: "WEB_FORM",
        anonymous: false,
        summary: "Warehouse associate reports that the seat interlock on forklift 7 has been bypassed with a zip tie for several weeks."
      },
      investigation: {
        lead: "investigator2",
        notes: [
          ["investigator2", "Site visit: bypass confirmed and photographed; forklift taken out of service."],
          ["investigator", "Maintenance logs show the fault was reported twice without a work order being raised."]
        ]
      }
    },
    {
      daysAgo: 24,
      title: "Retaliation after raising a pay equity concern",
      description: "An employee reports being removed from a project and excluded from meetings after raising a pay equity concern with their manager.",
      category: "Harassment",
      status: "OPEN",
      priority: "HIGH",
      createdBy: "investigator",
      intake: {
        kind: "HOTLINE_REPORT",
        anonymous: true,
        summary: "Caller reports being removed from a project and excluded from team meetings after raising a pay equity concern with their manager."
      },
      investigation: {
        lead: "investigator",
        notes: [
          ["investigator", "Intake reviewed; handled under the non-retaliation policy. Interview plan drafted."],
          ["investigator2", "Requested the project staffing history for the last six months from the PMO."]
        ]
      }
    },
    {
      daysAgo: 19,
      title: "Vendor portal exposed supplier bank details",
      description: "After a configuration change, supplier bank details were visible to every portal user. Waiting for the portal vendor's incident report.",
      category: "Data Privacy",
      status: "PENDING",
      priority: "MEDIUM",
      createdBy: "admin"
    },
    {
      daysAgo: 13,
      title: "Board member's relative hired without a posting",
      description: "A board member's nephew was hired into the finance team without the role being posted.",
      category: "Conflict of Interest",
      status: "OPEN",
      priority: "LOW",
      createdBy: "investigator2",
      intake: {
        kind: "DISCLOSURE",
        anonymous: false,
        summary: "HR business partner discloses that a board member's nephew was hired into the finance team without the role being posted."
      }
    },
    {
      daysAgo: 8,
      title: "Blocked emergency exit in the Reno distribution center",
      description: "Found during the monthly walk-through: pallets stacked in front of emergency exit B for at least two days.",
      category: "Safety",
      status: "NEW",
      priority: "MEDIUM",
      createdBy: "admin"
    },
    {
      daysAgo: 4,
      title: "Gift cards from a supplier accepted by buyers",
      description: "Two buyers allegedly accepted gift cards from a supplier during a contract renewal.",
      category: "Fraud",
      status: "NEW",
      priority: "HIGH",
      createdBy: "investigator",
      intake: {
        kind: "WEB_FORM",
        anonymous: true,
        summary: "Anonymous report that two buyers accepted gift cards worth several hundred dollars from a supplier during the contract renewal."
      }
    },
    {
      daysAgo: 1,
      title: "Unencrypted laptop lost at an airport",
      description: "A field engineer lost a laptop without disk encryption; it held service reports with customer contact details.",
      category: "Data Privacy",
      status: "NEW",
      priority: "LOW",
      createdBy: "admin"
    }
  ],
  openIntake: [
    {
      daysAgo: 0.25,
      status: "RECEIVED",
      kind: "HOTLINE_REPORT",
      anonymous: true,
      summary: "Caller reports that temporary staff on line 3 are not given safety glasses."
    },
    {
      daysAgo: 6,
      status: "TRIAGED",
      kind: "WEB_FORM",
      anonymous: false,
      summary: "Employee asks whether a conference invitation paid for by a vendor must be disclosed. Answered as a policy question."
    }
  ],
  campaign: {
    name: (year) => `Code of Conduct Attestation ${year}`,
    createdDaysAgo: 20,
    dueInDays: 10,
    assignments: {
      admin: { status: "COMPLETED", completedDaysAgo: 18 },
      investigator: { status: "COMPLETED", completedDaysAgo: 12 },
      investigator2: { status: "IN_PROGRESS" },
      viewer: { status: "PENDING" }
    }
  },
  projects: [
    { name: "Hotline and web intake launch", status: "LIVE", createdDaysAgo: 150, updatedDaysAgo: 12, goLiveInDays: -100 },
    { name: "HRIS integration (Workday)", status: "IN_PROGRESS", createdDaysAgo: 40, updatedDaysAgo: 2, goLiveInDays: 30 }
  ],
  health: { score: 86, weeklyActiveUsers: 4, slaBreaches: 0 }
}

const globex: CustomerSeed = {
  slug: "globex",
  name: "Globex Industries",
  prefix: "GLOBEX",
  onboardedDaysAgo: 90,
  members: { admin: "Grace Holloway", investigator: "Omar Haddad", investigator2: "Lena Fischer", viewer: "Sam Ortiz" },
  cases: [
    {
      daysAgo: 59,
      title: "Kickbacks on maintenance contracts at the Springfield plant",
      description: "A maintenance planner allegedly steers contracts to one contractor in exchange for cash payments.",
      category: "Fraud",
      status: "CLOSED",
      priority: "CRITICAL",
      createdBy: "investigator",
      intake: {
        kind: "HOTLINE_REPORT",
        anonymous: true,
        summary: "Caller alleges that a maintenance planner steers contracts to one contractor in exchange for cash payments."
      },
      investigation: {
        lead: "investigator2",
        notes: [
          ["investigator2", "Award history pulled: the contractor won 14 of 16 bids in the planner's area."],
          ["investigator", "Bank records obtained through Legal show payments from the contractor's owner to the planner's relative."],
          ["investigator2", "The planner resigned during the investigation; contractor suspended pending an audit."],
          ["investigator2", "Final report sent to the Audit Committee. Closed as substantiated."]
        ]
      }
    },
    {
      daysAgo: 52,
      title: "Hostile conduct toward lab technicians",
      description: "Two lab technicians report that a senior chemist shouts at them and throws samples when results are late.",
      category: "Harassment",
      status: "CLOSED",
      priority: "MEDIUM",
      createdBy: "admin",
      intake: {
        kind: "WEB_FORM",
        anonymous: false,
        summary: "Two lab technicians report that a senior chemist shouts at them and throws samples when results are late."
      },
      investigation: {
        lead: "investigator",
        notes: [
          ["investigator", "Interviewed both reporters separately; their accounts are consistent."],
          ["investigator", "The senior chemist acknowledged the behaviour; coaching plan agreed with HR. Closed."]
        ]
      }
    },
    {
      daysAgo: 46,
      title: "Safety data sheets missing for a new solvent",
      description: "A new cleaning solvent was in use in building C without safety data sheets at the point of use. Sheets posted, supervisors briefed.",
      category: "Safety",
      status: "CLOSED",
      priority: "LOW",
      createdBy: "investigator2"
    },
    {
      daysAgo: 40,
      title: "Procurement manager's side consulting business",
      description: "A procurement manager advises two companies that bid on Globex tenders.",
      category: "Conflict of Interest",
      status: "IN_PROGRESS",
      priority: "HIGH",
      createdBy: "investigator",
      intake: {
        kind: "DISCLOSURE",
        anonymous: false,
        summary: "Procurement manager discloses a consulting business that advises two companies bidding on Globex tenders."
      },
      investigation: {
        lead: "investigator",
        notes: [
          ["investigator", "Listed the tenders in which the consulting clients bid over the last two years."],
          ["investigator2", "The manager sat on the evaluation panel for one of them; requested the panel's scoring sheets."],
          ["investigator", "Scoring sheets received: the manager's scores for that bidder deviate from the panel average."]
        ]
      }
    },
    {
      daysAgo: 34,
      title: "HR records shared in an unrestricted folder",
      description: "A folder with performance reviews and salary data was readable by the whole company.",
      category: "Data Privacy",
      status: "PENDING",
      priority: "HIGH",
      createdBy: "admin",
      intake: {
        kind: "HOTLINE_REPORT",
        anonymous: false,
        summary: "Employee reports that a folder with performance reviews and salary data can be opened by anyone in the company."
      },
      investigation: {
        lead: "investigator2",
        notes: [
          ["investigator2", "Access restricted the same day; 212 accounts had read access for about five weeks."],
          ["investigator2", "Waiting for the access audit from the IT provider before assessing notification duties."]
        ]
      }
    },
    {
      daysAgo: 29,
      title: "Falsified emissions readings at the Ogdenville site",
      description: "Stack emissions readings were allegedly edited before submission to the regulator in two consecutive months.",
      category: "Fraud",
      status: "IN_PROGRESS",
      priority: "CRITICAL",
      createdBy: "investigator2",
      intake: {
        kind: "HOTLINE_REPORT",
        anonymous: true,
        summary: "Caller states that stack emissions readings were edited before submission to the regulator in two consecutive months."
      },
      investigation: {
        lead: "investigator",
        notes: [
          ["investigator", "Raw sensor exports obtained; two monthly reports differ from the exports."],
          ["investigator2", "Legal hold issued on the environmental team's mailboxes."],
          ["investigator", "Engaged an external environmental auditor to validate the readings."]
        ]
      }
    },
    {
      daysAgo: 22,
      title: "Pressure relief valve returned to service after a failed inspection",
      description: "A relief valve that failed inspection was reportedly put back into service to meet a production deadline.",
      category: "Safety",
      status: "OPEN",
      priority: "HIGH",
      createdBy: "admin",
      intake: {
        kind: "WEB_FORM",
        anonymous: false,
        summary: "Maintenance technician reports that a pressure relief valve that failed inspection was returned to service to meet a production deadline."
      },
      investigation: {
        lead: "investigator2",
        notes: [
          ["investigator2", "Valve isolated and replaced on the plant manager's order; investigating the decision to return it to service."],
          ["investigator", "Requested the inspection records and that week's shift handover notes."]
        ]
      }
    },
    {
      daysAgo: 18,
      title: "Supervisor in a relationship with a direct report",
      description: "A supervisor disclosed a relationship with a direct report and asked for a change of reporting line. Waiting for HR to reassign.",
      category: "Conflict of Interest",
      status: "PENDING",
      priority: "LOW",
      createdBy: "investigator",
      intake: {
        kind: "DISCLOSURE",
        anonymous: false,
        summary: "Supervisor discloses a relationship with a direct report and asks for a change of reporting line."
      }
    },
    {
      daysAgo: 12,
      title: "Product formulas stored on a personal cloud drive",
      description: "An R&D engineer synchronised formula documents to a personal cloud drive to work from home.",
      category: "Data Privacy",
      status: "OPEN",
      priority: "LOW",
      createdBy: "investigator2"
    },
    {
      daysAgo: 6,
      title: "Forklift traffic in a pedestrian walkway",
      description: "Forklifts cut through the marked pedestrian walkway between buildings A and B during shift changes.",
      category: "Safety",
      status: "NEW",
      priority: "MEDIUM",
      createdBy: "admin"
    },
    {
      daysAgo: 3,
      title: "Harassment allegation at the sales offsite",
      description: "A regional manager allegedly made unwanted advances toward a junior employee at the sales offsite.",
      category: "Harassment",
      status: "NEW",
      priority: "CRITICAL",
      createdBy: "investigator",
      intake: {
        kind: "HOTLINE_REPORT",
        anonymous: true,
        summary: "Caller reports unwanted advances by a regional manager toward a junior employee during the sales offsite."
      }
    },
    {
      daysAgo: 1,
      title: "Petty cash shortfall at the Shelbyville office",
      description: "The monthly count found USD 1,340 missing from the office petty cash box.",
      category: "Fraud",
      status: "NEW",
      priority: "MEDIUM",
      createdBy: "admin"
    }
  ],
  openIntake: [
    {
      daysAgo: 0.5,
      status: "RECEIVED",
      kind: "WEB_FORM",
      anonymous: true,
      summary: "Report that contractors' overtime on the packaging line is being recorded as regular hours."
    },
    {
      daysAgo: 9,
      status: "TRIAGED",
      kind: "HOTLINE_REPORT",
      anonymous: false,
      summary: "Caller asked how to report a suspected phishing email; redirected to IT security."
    }
  ],
  campaign: {
    name: (year) => `Conflict of Interest Disclosure ${year}`,
    createdDaysAgo: 35,
    dueInDays: -5,
    assignments: {
      admin: { status: "COMPLETED", completedDaysAgo: 30 },
      investigator: { status: "COMPLETED", completedDaysAgo: 9 },
      investigator2: { status: "OVERDUE" },
      viewer: { status: "OVERDUE" }
    }
  },
  projects: [
    { name: "Platform rollout", status: "IN_PROGRESS", createdDaysAgo: 90, updatedDaysAgo: 1, goLiveInDays: 20 },
    { name: "EMEA hotline numbers and localization", status: "PLANNING", createdDaysAgo: 10, updatedDaysAgo: 4, goLiveInDays: 75 }
  ],
  health: { score: 64, weeklyActiveUsers: 3, slaBreaches: 2 }
}

const customers: ReadonlyArray<CustomerSeed> = [acme, globex]

const operator = {
  slug: "operator",
  name: "Casecore Operations",
  onboardedDaysAgo: 400,
  ops: "ops@operator.example"
} as const

const memberEmail = (customer: CustomerSeed, key: MemberKey) => `${key}@${customer.slug}.example`

export const demoUsers: ReadonlyArray<{
  readonly org: string
  readonly email: string
  readonly role: "ADMIN" | "INVESTIGATOR" | "VIEWER" | "OPS"
  readonly displayName: string
}> = [
  ...customers.flatMap((customer) =>
    memberKeys.map((key) => ({
      org: customer.slug,
      email: memberEmail(customer, key),
      role: memberRoles[key],
      displayName: customer.members[key]
    }))
  ),
  { org: operator.slug, email: operator.ops, role: "OPS", displayName: "Olivia Park" },
  { org: operator.slug, email: "admin@operator.example", role: "ADMIN", displayName: "Daniel Reyes" }
]

const demoSlugs = [operator.slug, ...customers.map((customer) => customer.slug)]

const loginHint = `log in as ${memberEmail(acme, "admin")} / ${demoPassword} (organization ${acme.slug})`

class DemoAlreadySeeded extends Data.TaggedError("DemoAlreadySeeded")<{ readonly slugs: ReadonlyArray<string> }> {}

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
    `${counts.rius} RIUs (${counts.links} linked to cases), ${counts.investigations} investigations with ${counts.notes} notes,`,
    `${counts.notifications} notifications, ${counts.campaigns} campaigns with ${counts.assignments} assignments,`,
    `${counts.audit} audit entries, ${counts.projects} implementation projects, ${counts.healthScores} health scores`,
    `— ${loginHint}`
  ].join(" ")
})

/** Loads the demo data; returns a short human summary (printed by `npm run cli -- seed demo`). Fails with CliError (from ../cli/CliError.ts) if the demo organizations already exist. */
export const seedDemo: Effect.Effect<string, CliError, SqlClient.SqlClient | Directory> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.zipRight(ensureAbsent, loadDemo))
}).pipe(
  Effect.catchTags({
    DemoAlreadySeeded: (error) =>
      new CliError({ message: `the demo data is already loaded (organizations ${error.slugs.join(", ")} exist); use a fresh database to seed again` }),
    SqlError: Effect.die
  })
)

/** Seeds only when the database holds no organization at all AND the database is the embedded one (DATABASE_URL unset), or when SEED_DEMO=true; SEED_DEMO=false disables it. Logs (Effect.logInfo) how to log in when it seeded. */
export const seedDemoIfEmpty: Effect.Effect<void, CliError | ConfigError.ConfigError, SqlClient.SqlClient | Directory> = Effect.gen(function* () {
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
