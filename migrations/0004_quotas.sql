-- The element guarantees (要素保障): the construction-quota ledger (新增建设用地计划指标), the
-- farmland-offset ledger (补充耕地指标) and the start-rate goals of the key-project report.
--
-- Every movement is a row of an append-only table (refuse_change() from 0003 refuses UPDATE,
-- DELETE and TRUNCATE). The balances are running totals written in the same transaction as the
-- movement that changes them, and a named check constraint refuses a negative balance: two
-- allocations racing for the last mu both update the same balance row, the second waits for the
-- first's row lock, re-reads the committed balance and, if it would go below zero, fails on
-- quota_accounts_balance_not_negative (the API answers 409). The database, not the service,
-- is what makes overdrawing impossible.
--
-- Amounts are numeric with two decimals: mu for quota, m² for offset areas, kg for grain
-- capacity. The service moves them as exact hundredths (bigint), never as floats.

-- One quota account: a county's, or the municipal pool's ('pool'), quota for one year.
create table quota_accounts (
    holder text not null,
    year integer not null,
    -- the county a county account belongs to (null for the pool), for the foreign key
    county_code text generated always as (nullif(holder, 'pool')) stored,
    -- the yearly amount as last set (by `landuse quota import` or the admin)
    granted_mu numeric(14, 2) not null default 0,
    -- what is left to allocate or transfer
    balance_mu numeric(14, 2) not null default 0,
    updated_at timestamptz not null default now(),
    version bigint not null default 1,
    constraint quota_accounts_pkey primary key (holder, year),
    constraint quota_accounts_county_fk foreign key (county_code) references counties (code),
    constraint quota_accounts_holder_format check (holder = 'pool' or holder ~ '^[0-9]{6}$'),
    constraint quota_accounts_year_range check (year between 2000 and 2100),
    constraint quota_accounts_granted_not_negative check (granted_mu >= 0),
    constraint quota_accounts_balance_not_negative check (balance_mu >= 0)
);

-- What a case asks for. Append-only: a changed amount or a cancellation is a new row, and the
-- latest row of a case is the one in force. A case whose request in force is not cancelled and
-- has no allocation is waiting for quota.
create table quota_requests (
    id bigserial primary key,
    case_id uuid not null references cases (id),
    year integer not null,
    mu numeric(14, 2) not null,
    cancelled boolean not null default false,
    requested_at timestamptz not null,
    requested_by uuid references users (id),
    reason text,
    constraint quota_requests_year_range check (year between 2000 and 2100),
    constraint quota_requests_amount_positive check (cancelled or mu > 0)
);
create index quota_requests_case on quota_requests (case_id, id desc);

-- Every change of a quota balance. delta_mu is signed (what the holder's balance changed by);
-- balance_after_mu is the balance once the movement applied, so the ledger reads as a statement.
create table quota_movements (
    id bigserial primary key,
    holder text not null,
    year integer not null,
    kind text not null,
    delta_mu numeric(14, 2) not null,
    balance_after_mu numeric(14, 2) not null,
    case_id uuid references cases (id),
    -- pairs the two rows of one transfer
    transfer_id uuid,
    actor_id uuid references users (id),
    reason text,
    at timestamptz not null,
    constraint quota_movements_account_fk foreign key (holder, year) references quota_accounts (holder, year),
    constraint quota_movements_kind_known check (kind in ('grant', 'allocate', 'release', 'transfer_out', 'transfer_in')),
    constraint quota_movements_sign check (
        case kind
            when 'allocate' then delta_mu < 0
            when 'transfer_out' then delta_mu < 0
            when 'release' then delta_mu > 0
            when 'transfer_in' then delta_mu > 0
            else true
        end),
    constraint quota_movements_case_iff_allocation check ((kind in ('allocate', 'release')) = (case_id is not null)),
    constraint quota_movements_transfer_iff_paired check ((kind in ('transfer_out', 'transfer_in')) = (transfer_id is not null))
);
create index quota_movements_account on quota_movements (holder, year, id);
create index quota_movements_case on quota_movements (case_id) where case_id is not null;

create trigger quota_requests_append_only before update or delete on quota_requests
    for each row execute function refuse_change();
create trigger quota_requests_no_truncate before truncate on quota_requests
    for each statement execute function refuse_change();
create trigger quota_movements_append_only before update or delete on quota_movements
    for each row execute function refuse_change();
create trigger quota_movements_no_truncate before truncate on quota_movements
    for each statement execute function refuse_change();

-- A farmland offset indicator: what one land-improvement project (土地整治 / 高标准农田建设)
-- added, held by a county. Immutable; what is left of it lives in offset_balances. A transfer
-- to another county splits the transferred part off as a new indicator of that county, which
-- names the one it came from.
create table offset_indicators (
    id uuid primary key,
    county_code text not null references counties (code),
    -- the land-improvement project the indicator comes from
    source_project text not null,
    -- its acceptance document or filing number (验收文号 / 备案编号)
    source_ref text not null default '',
    transferred_from uuid references offset_indicators (id),
    area_m2 numeric(14, 2) not null,
    -- 水田 (DLBM 0101) area, part of area_m2
    paddy_m2 numeric(14, 2) not null,
    -- grain production capacity (粮食产能)
    capacity_kg numeric(16, 2) not null,
    registered_at timestamptz not null,
    registered_by uuid references users (id),
    constraint offset_indicators_area_positive check (area_m2 > 0),
    constraint offset_indicators_paddy_within_area check (paddy_m2 >= 0 and paddy_m2 <= area_m2),
    constraint offset_indicators_capacity_not_negative check (capacity_kg >= 0),
    constraint offset_indicators_source_named check (length(trim(source_project)) > 0)
);
create index offset_indicators_county on offset_indicators (county_code, registered_at, id);

create trigger offset_indicators_append_only before update or delete on offset_indicators
    for each row execute function refuse_change();
create trigger offset_indicators_no_truncate before truncate on offset_indicators
    for each statement execute function refuse_change();

-- What is still available of each indicator: neither locked by a case nor transferred away.
-- The three quantities are accounted separately (数量、水田、产能 分类核销), each kept from going
-- below zero by its own named constraint.
create table offset_balances (
    indicator_id uuid primary key references offset_indicators (id),
    county_code text not null references counties (code),
    area_m2 numeric(14, 2) not null,
    paddy_m2 numeric(14, 2) not null,
    capacity_kg numeric(16, 2) not null,
    version bigint not null default 1,
    constraint offset_balances_area_not_negative check (area_m2 >= 0),
    constraint offset_balances_paddy_not_negative check (paddy_m2 >= 0),
    constraint offset_balances_capacity_not_negative check (capacity_kg >= 0)
);
create index offset_balances_county on offset_balances (county_code);

-- Every change to an indicator, as magnitudes (never negative); the kind says which way:
--   register, transfer_in, release: available +
--   lock, transfer_out:             available −
--   lock:    the case's locked amount +;  release, consume: the case's locked amount −
-- so a case's outstanding lock on an indicator is lock − release − consume, and what was
-- consumed is the sum of its consume rows.
create table offset_movements (
    id bigserial primary key,
    indicator_id uuid not null references offset_indicators (id),
    kind text not null,
    case_id uuid references cases (id),
    transfer_id uuid,
    area_m2 numeric(14, 2) not null,
    paddy_m2 numeric(14, 2) not null,
    capacity_kg numeric(16, 2) not null,
    actor_id uuid references users (id),
    reason text,
    at timestamptz not null,
    constraint offset_movements_kind_known check (kind in ('register', 'lock', 'release', 'consume', 'transfer_out', 'transfer_in')),
    constraint offset_movements_magnitudes check (area_m2 >= 0 and paddy_m2 >= 0 and capacity_kg >= 0),
    constraint offset_movements_case_iff_case_kind check ((kind in ('lock', 'release', 'consume')) = (case_id is not null)),
    constraint offset_movements_transfer_iff_paired check ((kind in ('transfer_out', 'transfer_in')) = (transfer_id is not null))
);
create index offset_movements_indicator on offset_movements (indicator_id, id);
create index offset_movements_case on offset_movements (case_id) where case_id is not null;

create trigger offset_movements_append_only before update or delete on offset_movements
    for each row execute function refuse_change();
create trigger offset_movements_no_truncate before truncate on offset_movements
    for each statement execute function refuse_change();

-- The start-rate goals (percent of municipal new-start key projects started by the end of each
-- quarter), from the bureau's 2023 plan: 80% by the end of Q1, all by the end of Q2.
insert into settings (key, value) values ('start_rate_goals', '{"q1": 80, "q2": 100, "q3": 100, "q4": 100}')
    on conflict (key) do nothing;

-- Who recorded a key project's actual start, and when (projects.started_on holds the date in
-- force; this keeps every recording, corrections included).
create table project_start_records (
    id bigserial primary key,
    project_id uuid not null references projects (id),
    started_on date not null,
    recorded_by uuid references users (id),
    recorded_at timestamptz not null
);
create index project_start_records_project on project_start_records (project_id, id);

create trigger project_start_records_append_only before update or delete on project_start_records
    for each row execute function refuse_change();
create trigger project_start_records_no_truncate before truncate on project_start_records
    for each statement execute function refuse_change();
