import { Context, type Effect, type Option } from "effect"
import type { CaseId, CategoryId, InvestigationId, OrganizationId, RiuId, UserId } from "../src/domain/Ids.ts"
import type { CaseLinkRow, CaseRow, CategoryRow, InvestigationRow, NoteRow, OrganizationRow, RiuLinkRow, RiuRow, UserRow } from "../src/domain/Records.ts"

/** Rows found, by id; an id with no row of the organization is absent (NOT_FOUND is the caller's answer). */
export type ById<Id extends string, A> = ReadonlyMap<Id, A>
/** Children by parent id, each list in creation order; a parent without children is absent. */
export type ByParent<Id extends string, A> = ReadonlyMap<Id, ReadonlyArray<A>>

/**
 * Batched, tenant-keyed reads. Each method is ONE coarse request carrying all its ids (de-duplicated;
 * an empty list issues no statement), keyed by the organization: requests made together run as one
 * statement per relation, and no batch result, cache entry or closure is shared between organizations.
 * Coarse requests bypass the request cache; `user` is the single lookup for scattered code paths, and
 * is cached for the length of one HTTP request or RPC call. Database failures are defects.
 */
export class Loaders extends Context.Tag("casecore/Loaders")<
  Loaders,
  {
    /** Users of the organization by id. */
    readonly users: (organizationId: OrganizationId, ids: ReadonlyArray<UserId>) => Effect.Effect<ById<UserId, UserRow>>
    /** One user of the organization (cached per request when a request cache is installed). */
    readonly user: (organizationId: OrganizationId, id: UserId) => Effect.Effect<Option.Option<UserRow>>
    /** The organization itself when listed in `ids` (a tenant sees no other organization). */
    readonly organizations: (organizationId: OrganizationId, ids: ReadonlyArray<OrganizationId>) => Effect.Effect<ById<OrganizationId, OrganizationRow>>
    /** Categories of the organization by id. */
    readonly categories: (organizationId: OrganizationId, ids: ReadonlyArray<CategoryId>) => Effect.Effect<ById<CategoryId, CategoryRow>>
    /** Cases of the organization by id. */
    readonly cases: (organizationId: OrganizationId, ids: ReadonlyArray<CaseId>) => Effect.Effect<ById<CaseId, CaseRow>>
    /** Investigations of the organization by id. */
    readonly investigations: (organizationId: OrganizationId, ids: ReadonlyArray<InvestigationId>) => Effect.Effect<ById<InvestigationId, InvestigationRow>>
    /** RIUs of the organization by id. */
    readonly rius: (organizationId: OrganizationId, ids: ReadonlyArray<RiuId>) => Effect.Effect<ById<RiuId, RiuRow>>
    /** The RIU links of cases, each with its RIU. */
    readonly riuLinksOfCases: (organizationId: OrganizationId, caseIds: ReadonlyArray<CaseId>) => Effect.Effect<ByParent<CaseId, RiuLinkRow>>
    /** The case links of RIUs. */
    readonly caseLinksOfRius: (organizationId: OrganizationId, riuIds: ReadonlyArray<RiuId>) => Effect.Effect<ByParent<RiuId, CaseLinkRow>>
    /** The investigations of cases. */
    readonly investigationsOfCases: (organizationId: OrganizationId, caseIds: ReadonlyArray<CaseId>) => Effect.Effect<ByParent<CaseId, InvestigationRow>>
    /** The notes of investigations (authors are users by id). */
    readonly notesOfInvestigations: (organizationId: OrganizationId, investigationIds: ReadonlyArray<InvestigationId>) => Effect.Effect<ByParent<InvestigationId, NoteRow>>
    /** The notes of cases (authors are users by id). */
    readonly notesOfCases: (organizationId: OrganizationId, caseIds: ReadonlyArray<CaseId>) => Effect.Effect<ByParent<CaseId, NoteRow>>
  }
>() {}
