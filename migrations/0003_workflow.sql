-- Counties, people and tokens, key projects, cases with their parcels, checks, history and
-- ledger items: the workflow the bureau runs.

create table counties (
    code text primary key,
    name text not null,
    -- older codes that still appear on input (610928 for 旬阳 before it became a city)
    aliases text[] not null default '{}',
    constraint counties_code_format check (code ~ '^[0-9]{6}$')
);

create table users (
    id uuid primary key,
    name text not null,
    role text not null,
    created_at timestamptz not null default now(),
    disabled_at timestamptz,
    constraint users_name_unique unique (name),
    constraint users_role_known check (role in ('officer', 'planner', 'reviewer', 'leader', 'admin', 'gis'))
);

create table user_counties (
    user_id uuid not null references users (id),
    county_code text not null references counties (code),
    primary key (user_id, county_code)
);

-- Bearer tokens, stored only as SHA-256 hashes of the secret.
create table tokens (
    id uuid primary key,
    user_id uuid not null references users (id),
    hash bytea not null,
    label text not null default '',
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    constraint tokens_hash_unique unique (hash)
);

create table projects (
    id uuid primary key,
    name text not null,
    county_code text not null references counties (code),
    level text not null,
    category text not null,
    sector text not null default 'other',
    on_key_list boolean not null default false,
    new_start boolean not null default false,
    year integer not null,
    planned_start date,
    responsible_leader text,
    started_on date,
    created_at timestamptz not null default now(),
    created_by uuid references users (id),
    version bigint not null default 1,
    constraint projects_level_known check (level in ('national', 'provincial', 'municipal', 'county')),
    constraint projects_category_known check (category in ('infrastructure', 'industry', 'livelihood')),
    constraint projects_sector_known check (sector in ('energy', 'transport', 'water', 'military', 'industry', 'livelihood', 'other'))
);
create index projects_county on projects (county_code);

create table cases (
    id uuid primary key,
    project_id uuid not null references projects (id),
    county_code text not null references counties (code),
    title text not null,
    stage text not null default 'draft',
    -- the stage a case in correction returns to
    returns_to text,
    stage_entered_at timestamptz not null default now(),
    -- the close of the current stage's time limit (null when no limit runs: draft, correction, final)
    deadline_at timestamptz,
    deadline_provisional boolean not null default false,
    -- a leader's grant of the green channel (domain green::Grant), kept with its revocation
    green_grant jsonb,
    -- green channel in force (key project or active grant), kept for queue ordering
    green boolean not null default false,
    -- recorded documents: opinion, approval, supply decision, certificate (domain CaseFacts)
    facts jsonb not null default '{}',
    -- what the project declares for the verdict rules (allowed red-line activity, linear use, ...)
    declarations jsonb not null default '{}',
    officer_id uuid references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    version bigint not null default 1,
    constraint cases_stage_known check (stage in ('draft', 'accepted', 'pre_review', 'conversion', 'supply',
        'registration', 'completed', 'correction', 'rejected', 'withdrawn')),
    constraint cases_returns_to_only_in_correction check ((stage = 'correction') = (returns_to is not null))
);
create index cases_county_stage on cases (county_code, stage);
create index cases_queue on cases (green desc, deadline_at asc nulls last, id);
create index cases_project on cases (project_id);

-- Periods a case spent in correction: the clock stops for them.
create table case_pauses (
    id bigserial primary key,
    case_id uuid not null references cases (id),
    paused_at timestamptz not null,
    resumed_at timestamptz,
    constraint case_pauses_order check (resumed_at is null or resumed_at >= paused_at)
);
create unique index case_pauses_one_open on case_pauses (case_id) where resumed_at is null;

-- The append-only history of every case.
create table case_events (
    id bigserial primary key,
    case_id uuid not null references cases (id),
    at timestamptz not null,
    actor_id uuid references users (id),
    actor_role text not null,
    kind text not null,
    from_stage text,
    to_stage text,
    reason text,
    data jsonb not null default '{}'
);
create index case_events_case on case_events (case_id, id);

create function refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'table % is append-only', tg_table_name using errcode = '42501';
end;
$$;

create trigger case_events_append_only before update or delete on case_events
    for each row execute function refuse_change();
create trigger case_events_no_truncate before truncate on case_events
    for each statement execute function refuse_change();

create table parcels (
    id uuid primary key,
    case_id uuid not null references cases (id),
    seq integer not null,
    name text not null default '',
    geom geometry(MultiPolygon, 4490) not null,
    area_m2 double precision not null,
    -- the Gauss–Krüger planar area, for parcels read from a coordinate file
    planar_area_m2 double precision,
    stated_area_m2 double precision,
    zone integer,
    source text not null,
    attributes jsonb not null default '{}',
    created_at timestamptz not null default now(),
    constraint parcels_source_known check (source in ('geojson', 'coordinate_file')),
    constraint parcels_seq_unique unique (case_id, seq)
);
create index parcels_geom on parcels using gist (geom);

-- Immutable check reports; only the stale and confirmed marks change.
create table checks (
    id uuid primary key,
    case_id uuid not null references cases (id),
    run_at timestamptz not null,
    run_by uuid references users (id),
    -- the case result now, after any dismissals
    result text not null,
    -- the immutable measurement and verdict report (spatial CheckReport)
    report jsonb not null,
    -- what the transition rules read (domain CheckSummary), recomputed on dismissal
    summary jsonb not null default '{}',
    stale boolean not null default false,
    confirmed_at timestamptz,
    confirmed_by uuid references users (id)
);
create index checks_case on checks (case_id, run_at desc);

create table check_hits (
    id uuid primary key,
    check_id uuid not null references checks (id),
    layer_kind text not null,
    -- position of the hit among its layer's hits in the report
    hit_index integer not null,
    layer_version_id uuid,
    feature_id bigint,
    overlap_m2 double precision not null,
    attributes jsonb not null default '{}',
    geom geometry(Geometry, 4490),
    dismissed_at timestamptz,
    dismissed_by uuid references users (id),
    dismiss_reason text
);
create index check_hits_check on check_hits (check_id);
create index check_hits_geom on check_hits using gist (geom);

-- Three-week clearing: one item per stay of a case in a municipal stage.
create table ledger_items (
    id uuid primary key,
    case_id uuid not null references cases (id),
    county_code text not null references counties (code),
    stage text not null,
    opened_at timestamptz not null,
    -- the last day the item may stay open (the domain's clearing rule, fixed at opening: a
    -- correction strikes the item off and a new one opens on the answer, so no pause runs inside)
    due_on date not null,
    cleared_at timestamptz,
    outcome text,
    -- the status last recorded by the sweeper, so each change is alerted once
    last_status text not null default 'open',
    constraint ledger_items_status_known check (last_status in ('open', 'due_soon', 'overdue', 'cleared'))
);
create index ledger_items_open on ledger_items (county_code) where cleared_at is null;
create unique index ledger_items_one_open_per_case on ledger_items (case_id) where cleared_at is null;

-- Responses to requests sent with an Idempotency-Key, replayed when the key comes again.
create table idempotency_keys (
    user_id uuid not null references users (id),
    key text not null,
    method text not null,
    path text not null,
    request_hash bytea not null,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamptz not null default now(),
    primary key (user_id, key)
);

-- Deployment settings the bureau may change: time limits, clearing thresholds, verdict rules.
create table settings (
    key text primary key,
    value jsonb not null,
    updated_at timestamptz not null default now()
);

-- The official working-day calendar, one row per year as published by the State Council.
create table calendar_years (
    year integer primary key,
    holidays date[] not null,
    adjusted_workdays date[] not null,
    updated_at timestamptz not null default now()
);
