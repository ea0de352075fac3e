-- Mineral overlay queries (压覆矿产查询, issue 18; DOMAIN.md "Approvals that a check calls for"):
-- a confirmed check that counts a `needs_overlay_approval` hit calls for a query to the mineral
-- authority before `conversion → supply`. A query is sent on a day and due five working days
-- later; its answer (document number, day, conclusion) is recorded once and, when favourable,
-- is valid six months. A refused or lapsed answer needs a new query: a new row, never a change.
--
-- The rules live in the domain crate (overlay::due_on, overlay::status, overlay::gap,
-- overlay::validate_answer); the constraints here hold what any row must satisfy.
create table case_overlay_queries (
    id uuid primary key,
    case_id uuid not null references cases (id),
    -- the check whose hits called for it, when it was opened on confirming one
    check_id uuid references checks (id),
    sent_on date not null,
    due_on date not null,
    -- the due day rests on days the calendar does not cover yet
    due_provisional boolean not null,
    opened_by uuid not null references users (id),
    opened_role text not null,
    opened_at timestamptz not null,
    constraint case_overlay_queries_due_after_sent check (due_on >= sent_on)
);
create index case_overlay_queries_case on case_overlay_queries (case_id, opened_at);

-- The answer, once per query (the primary key): a query's answer is never changed.
create table case_overlay_answers (
    query_id uuid primary key references case_overlay_queries (id),
    document_number text not null,
    answered_on date not null,
    conclusion text not null,
    note text,
    recorded_by uuid not null references users (id),
    recorded_role text not null,
    recorded_at timestamptz not null,
    constraint case_overlay_answers_conclusion_known check (conclusion in ('no_overlay', 'overlay_approved', 'refused')),
    constraint case_overlay_answers_document_number_not_blank check (btrim(document_number) <> '')
);

alter table case_overlay_queries enable row level security;
create policy county_scope on case_overlay_queries
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));
alter table case_overlay_answers enable row level security;
create policy county_scope on case_overlay_answers
    using (exists (select 1 from case_overlay_queries q join cases c on c.id = q.case_id
                    where q.id = query_id and landuse_sees(c.county_code)));
-- Like the approval records (0019), the service may add queries and answers, never change one.
revoke update, delete, truncate on case_overlay_queries from landuse_app;
revoke update, delete, truncate on case_overlay_answers from landuse_app;

-- A query unanswered on its due day raises a reminder, past it an alert: once per query and kind.
alter table alerts
    add column overlay_query_id uuid references case_overlay_queries (id),
    drop constraint alerts_kind_known,
    add constraint alerts_kind_known check (kind in ('ledger_due_soon', 'ledger_overdue', 'deadline_near',
        'deadline_passed', 'land_idle_soon', 'land_idle', 'land_partial_idle', 'land_reclaimable',
        'overlay_reminder', 'overlay_late')),
    drop constraint alerts_one_subject,
    add constraint alerts_one_subject check (
        (kind in ('ledger_due_soon', 'ledger_overdue') and ledger_item_id is not null
            and stage_entered_at is null and supply_part_id is null and overlay_query_id is null)
        or (kind in ('deadline_near', 'deadline_passed') and ledger_item_id is null
            and stage_entered_at is not null and supply_part_id is null and overlay_query_id is null)
        or (kind in ('land_idle_soon', 'land_idle', 'land_partial_idle', 'land_reclaimable')
            and ledger_item_id is null and stage_entered_at is null and supply_part_id is not null
            and overlay_query_id is null)
        or (kind in ('overlay_reminder', 'overlay_late')
            and ledger_item_id is null and stage_entered_at is null and supply_part_id is null
            and overlay_query_id is not null)),
    add constraint alerts_once_per_overlay_query unique (overlay_query_id, kind);
