-- Approval records a check calls for (issue 18; DOMAIN.md "Approvals that a check calls for"):
-- the State Council's approval, an authority's opinion, a review opinion, the use that allows
-- land outside the urban boundary, and the geohazard risk assessment. Each record answers
-- features the case's check hit (`answers`); a re-check that hits the same features keeps it
-- answering, one that no longer hits them leaves it lapsed. Records are never changed or
-- deleted: a new decision is a new record.
--
-- The rules live in the domain crate (approval::validate, approval::missing); the constraints
-- here hold what any row must satisfy whoever writes it.
create table case_approvals (
    id uuid primary key,
    case_id uuid not null references cases (id),
    -- domain approval::ApprovalKind
    kind text not null,
    -- the document's number (文号) and the authority that decided
    document_number text not null,
    authority text not null,
    decided_on date not null,
    conclusion text,
    -- the features answered: [{"layer": "qinling_key", "feature": "QL-7"}, …], and the hits of
    -- the check the record was made against, for the history
    answers jsonb not null,
    answered_hits uuid[] not null,
    recorded_by uuid not null references users (id),
    recorded_role text not null,
    recorded_at timestamptz not null,
    constraint case_approvals_kind_known check (kind in ('state_council_approval', 'authority_opinion',
        'review_opinion', 'outside_boundary_use', 'geohazard_assessment')),
    constraint case_approvals_document_number_not_blank check (btrim(document_number) <> ''),
    constraint case_approvals_authority_not_blank check (btrim(authority) <> ''),
    constraint case_approvals_answers_array check (jsonb_typeof(answers) = 'array' and jsonb_array_length(answers) > 0),
    constraint case_approvals_answered_hits_given check (cardinality(answered_hits) > 0)
);
create index case_approvals_case on case_approvals (case_id, recorded_at);

alter table case_approvals enable row level security;
create policy county_scope on case_approvals
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));
-- Like the case history (0007), the service may add records but never change or remove one.
revoke update, delete, truncate on case_approvals from landuse_app;
