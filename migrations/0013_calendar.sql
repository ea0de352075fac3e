-- The working-day calendar as data the admin extends (landuse calendar import, PUT
-- /api/v1/calendar/{year}); the clearing limits and the advance-use share as settings; and the
-- corrections of alerts whose deadline a newly loaded year moved.

-- A loaded year is a versioned resource: its ETag is the version, and a change names it.
alter table calendar_years add column version bigint not null default 1;
alter table calendar_years add constraint calendar_years_year_plausible check (year between 1949 and 9999);

-- The three-week clearing (21 days, due soon from 7 left) and the advance-use share (30% of the
-- pre-reviewed area) as each bureau sets them; these are the defaults of DOMAIN.md.
insert into settings (key, value) values ('clearing', '{"limit_days": 21, "due_soon_days": 7}')
    on conflict (key) do nothing;
insert into settings (key, value) values ('advance_use', '{"max_share_percent": 30}')
    on conflict (key) do nothing;

-- Alerts are append-only facts. When a calendar year moves the deadline an alert was raised
-- for, the correction is a fact of its own: the new due instant, and whether the alert no
-- longer holds (a "deadline passed" for a deadline that is now later). Readers show the latest
-- correction beside the alert.
create table alert_corrections (
    id bigserial primary key,
    alert_id bigint not null references alerts (id),
    corrected_at timestamptz not null,
    -- the deadline as now computed
    due_at timestamptz not null,
    -- the alert's status no longer holds at corrected_at
    withdrawn boolean not null,
    reason text not null,
    constraint alert_corrections_reason_given check (reason <> '')
);
create index alert_corrections_alert on alert_corrections (alert_id, id);

create trigger alert_corrections_append_only before update or delete on alert_corrections
    for each row execute function refuse_change();
create trigger alert_corrections_no_truncate before truncate on alert_corrections
    for each statement execute function refuse_change();

-- A correction belongs to its alert's county, like the alert's deliveries (0010).
alter table alert_corrections enable row level security;
create policy county_scope on alert_corrections
    using (exists (select 1 from alerts a where a.id = alert_id and landuse_sees(a.county_code)));

-- A withdrawn deadline alert must be raised again when the moved deadline is reached: one
-- alert per stay, kind and deadline instead of per stay and kind.
alter table alerts drop constraint alerts_once_per_stage_stay;
alter table alerts add constraint alerts_once_per_stage_stay_and_deadline
    unique (case_id, stage, stage_entered_at, kind, due_at);

-- The service's role (0007) gets the new table like every other; the default privileges of
-- 0007 cover it when the migrating role created them, this states it for any other owner.
grant select, insert on alert_corrections to landuse_app;
grant usage, select on sequence alert_corrections_id_seq to landuse_app;
