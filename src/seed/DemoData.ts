import type { Role } from "../domain/Roles.ts"

/** The demo organizations, people and cases: data only; src/seed/Demo.ts loads it. */
export const demoPassword = "demo-password-2026"

export type CategoryName = "Fraud" | "Harassment" | "Conflict of Interest" | "Data Privacy" | "Safety"
export type CaseStatus = "NEW" | "OPEN" | "IN_PROGRESS" | "PENDING" | "CLOSED"
export type Priority = "LOW" | "MEDIUM" | "HIGH" | "CRITICAL"
export type RiuKind = "HOTLINE_REPORT" | "WEB_FORM" | "DISCLOSURE"
export type MemberKey = "admin" | "investigator" | "investigator2" | "viewer"
export type Investigator = "investigator" | "investigator2"
export type AssignmentStatus = "PENDING" | "IN_PROGRESS" | "COMPLETED" | "OVERDUE"

export interface Intake {
  readonly kind: RiuKind
  readonly anonymous: boolean
  readonly summary: string
}

export interface CaseSeed {
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

export interface CustomerSeed {
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

export const categoryNames: ReadonlyArray<CategoryName> = ["Fraud", "Harassment", "Conflict of Interest", "Data Privacy", "Safety"]

export const memberRoles: Readonly<Record<MemberKey, Role>> = {
  admin: "ADMIN",
  investigator: "INVESTIGATOR",
  investigator2: "INVESTIGATOR",
  viewer: "VIEWER"
}

export const memberKeys: ReadonlyArray<MemberKey> = ["admin", "investigator", "investigator2", "viewer"]

export const acme: CustomerSeed = {
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

export const globex: CustomerSeed = {
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

export const customers: ReadonlyArray<CustomerSeed> = [acme, globex]

export const operator = {
  slug: "operator",
  name: "Casecore Operations",
  onboardedDaysAgo: 400,
  ops: "ops@operator.example"
} as const

export const memberEmail = (customer: CustomerSeed, key: MemberKey) => `${key}@${customer.slug}.example`

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
