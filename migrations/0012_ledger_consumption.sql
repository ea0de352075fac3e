-- The ledgers follow the legal record (issue 17, DOMAIN.md "Quotas and farmland balance"):
--
-- 1. Quota is *held* until the conversion is approved and *consumed* by the approval. A
--    consumption is a `consume` movement of the case: it leaves the account's balance as it is
--    (the allocation already took it) and records the amount in consumed_mu, so what a case
--    holds is allocated − released − consumed and what it consumed never returns.
-- 2. A farmland-offset lock is made against a need: the cultivated and paddy area of one
--    confirmed check and the grain capacity the reviewer stated. Each need is a row of
--    offset_needs (append-only; the latest row of a case is the one in force), so the ledger
--    shows what every lock, top-up and release was measured against.

alter table quota_movements drop constraint quota_movements_kind_known;
alter table quota_movements add constraint quota_movements_kind_known
    check (kind in ('grant', 'allocate', 'release', 'consume', 'transfer_out', 'transfer_in'));

alter table quota_movements drop constraint quota_movements_case_iff_allocation;
alter table quota_movements add constraint quota_movements_case_iff_allocation
    check ((kind in ('allocate', 'release', 'consume')) = (case_id is not null));

alter table quota_movements add column consumed_mu numeric(14, 2);
alter table quota_movements add constraint quota_movements_consumption_only_consumes
    check ((kind = 'consume') = (consumed_mu is not null)
           and (kind <> 'consume' or (consumed_mu > 0 and delta_mu = 0)));

create table offset_needs (
    id bigserial primary key,
    case_id uuid not null references cases (id),
    -- the confirmed check the areas come from
    check_id uuid not null references checks (id),
    area_m2 numeric(14, 2) not null,
    paddy_m2 numeric(14, 2) not null,
    capacity_kg numeric(16, 2) not null,
    stated_by uuid references users (id),
    at timestamptz not null,
    constraint offset_needs_not_negative check (area_m2 >= 0 and paddy_m2 >= 0 and capacity_kg >= 0),
    constraint offset_needs_paddy_within_area check (paddy_m2 <= area_m2)
);
create index offset_needs_case on offset_needs (case_id, id desc);

create trigger offset_needs_append_only before update or delete on offset_needs
    for each row execute function refuse_change();
create trigger offset_needs_no_truncate before truncate on offset_needs
    for each statement execute function refuse_change();

alter table offset_needs enable row level security;
create policy county_scope on offset_needs
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));
