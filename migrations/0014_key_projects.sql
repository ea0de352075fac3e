-- Key-project status is the bureau's, not the applicant's (DOMAIN.md, "Key projects").
--
-- projects.level, sector, on_key_list, new_start, year and responsible_leader stay the values
-- in force, which the green channel, the quota queue, the permanent-farmland verdict and the
-- start-rate report read. Only a leader's or admin's designation writes them; what an officer
-- submits for the list is a proposal, kept beside them until a designation decides it.

alter table projects
    add column list_document text,
    add column proposed_for_list boolean not null default false,
    add column proposed_level text,
    add column proposed_sector text,
    add column proposed_new_start boolean,
    add column proposal_note text,
    add constraint projects_proposed_level_known
        check (proposed_level is null or proposed_level in ('national', 'provincial', 'municipal', 'county')),
    add constraint projects_proposed_sector_known
        check (proposed_sector is null
               or proposed_sector in ('energy', 'transport', 'water', 'military', 'industry', 'livelihood', 'other')),
    add constraint projects_proposal_complete
        check (not proposed_for_list or proposed_level is not null);

-- The append-only history of every project: its registration, each edit of its ordinary
-- fields, each proposal, each designation (put on the list, taken off) and each recorded start.
-- `changes` lists the fields that changed, each with its text before and after.
create table project_events (
    id bigserial primary key,
    project_id uuid not null references projects (id),
    at timestamptz not null,
    actor_id uuid references users (id),
    actor_role text,
    kind text not null,
    reason text,
    changes jsonb not null default '[]',
    constraint project_events_kind_known
        check (kind in ('registered', 'edited', 'proposed', 'designated', 'taken_off', 'classified', 'start_recorded')),
    constraint project_events_designation_has_reason
        check (kind not in ('designated', 'taken_off', 'classified') or (reason is not null and btrim(reason) <> '')),
    constraint project_events_changes_is_array check (jsonb_typeof(changes) = 'array')
);
create index project_events_project on project_events (project_id, id);

create trigger project_events_append_only before update or delete on project_events
    for each row execute function refuse_change();
create trigger project_events_no_truncate before truncate on project_events
    for each statement execute function refuse_change();

-- Projects registered before designations were recorded: their registration, so that every
-- project's history starts somewhere. A project already on the list says so.
insert into project_events (project_id, at, actor_id, kind, reason, changes)
select id, created_at, created_by, 'registered',
       case when on_key_list
            then 'on the key-project list before designations were recorded (migration 0014)'
       end,
       '[]'
  from projects;

-- The start rate of each county for each closed quarter, as taken when the quarter closed
-- (the first sweep or report read after its last day): `projects` holds the projects that
-- counted, each with the start date known then. Later starts and changed dates show beside
-- it as corrections; the figure itself never changes.
create table start_rate_freezes (
    year integer not null,
    quarter smallint not null,
    county_code text not null references counties (code),
    frozen_at timestamptz not null,
    frozen_on date not null,
    goal_percent smallint not null,
    projects jsonb not null,
    constraint start_rate_freezes_pkey primary key (year, quarter, county_code),
    constraint start_rate_freezes_quarter_known check (quarter between 1 and 4),
    constraint start_rate_freezes_goal_is_percent check (goal_percent between 0 and 100),
    constraint start_rate_freezes_projects_is_array check (jsonb_typeof(projects) = 'array')
);

create trigger start_rate_freezes_append_only before update or delete on start_rate_freezes
    for each row execute function refuse_change();
create trigger start_rate_freezes_no_truncate before truncate on start_rate_freezes
    for each statement execute function refuse_change();

-- Row-level security (0010): a project's history is visible with its project; a county's
-- frozen figures with its county.
alter table project_events enable row level security;
create policy county_scope on project_events
    using (exists (select 1 from projects p where p.id = project_id and landuse_sees(p.county_code)));

alter table start_rate_freezes enable row level security;
create policy county_scope on start_rate_freezes using (landuse_sees(county_code));

-- The service may read and append both, nothing else (0007); the default privileges gave it
-- update and delete.
grant select, insert on project_events, start_rate_freezes to landuse_app;
grant usage, select on sequence project_events_id_seq to landuse_app;
revoke update, delete, truncate on project_events, start_rate_freezes from landuse_app;
