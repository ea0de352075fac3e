-- Row-level security: a second wall between counties, behind the handlers' own filters.
--
-- Every transaction the service runs sets `landuse.counties` (transaction-local) to the
-- counties its caller serves, comma-separated, or to `*` for the city-wide roles and the
-- service's own timers. A row of a county-owned table is visible, and may be written, only
-- when its county is in that list. A transaction that sets nothing sees nothing: a forgotten
-- scope fails closed. The owner (the role that migrates, and the operator's CLI) is not
-- subject to these policies; landuse_app (0007) owns nothing and may not bypass them.

create function landuse_sees(county text) returns boolean
    language sql stable parallel safe
    return current_setting('landuse.counties', true) = '*'
        or county = any (string_to_array(nullif(current_setting('landuse.counties', true), ''), ','));

comment on function landuse_sees(text) is
    'Whether the current transaction''s scope (landuse.counties) covers county; null (the city''s pool) only for "*".';

-- Tables that carry their county.
alter table projects enable row level security;
create policy county_scope on projects using (landuse_sees(county_code));

alter table cases enable row level security;
create policy county_scope on cases using (landuse_sees(county_code));

alter table ledger_items enable row level security;
create policy county_scope on ledger_items using (landuse_sees(county_code));

-- The city's pool account has no county: only the city-wide scope sees it.
alter table quota_accounts enable row level security;
create policy county_scope on quota_accounts using (landuse_sees(county_code));

alter table quota_movements enable row level security;
create policy county_scope on quota_movements using (landuse_sees(nullif(holder, 'pool')));

alter table offset_indicators enable row level security;
create policy county_scope on offset_indicators using (landuse_sees(county_code));

alter table offset_balances enable row level security;
create policy county_scope on offset_balances using (landuse_sees(county_code));

alter table alerts enable row level security;
create policy county_scope on alerts using (landuse_sees(county_code));

alter table dispatch_rows enable row level security;
create policy county_scope on dispatch_rows using (landuse_sees(county_code));

-- Tables that belong to a case, a project, a check, an indicator or an alert: visible with it.
-- A policy without WITH CHECK applies its USING expression to written rows too.
alter table case_pauses enable row level security;
create policy county_scope on case_pauses
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));

alter table case_events enable row level security;
create policy county_scope on case_events
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));

alter table parcels enable row level security;
create policy county_scope on parcels
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));

alter table checks enable row level security;
create policy county_scope on checks
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));

alter table check_hits enable row level security;
create policy county_scope on check_hits
    using (exists (select 1 from checks k join cases c on c.id = k.case_id
                    where k.id = check_id and landuse_sees(c.county_code)));

alter table quota_requests enable row level security;
create policy county_scope on quota_requests
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));

alter table offset_movements enable row level security;
create policy county_scope on offset_movements
    using (exists (select 1 from offset_indicators i
                    where i.id = indicator_id and landuse_sees(i.county_code)));

alter table project_start_records enable row level security;
create policy county_scope on project_start_records
    using (exists (select 1 from projects p where p.id = project_id and landuse_sees(p.county_code)));

alter table alert_deliveries enable row level security;
create policy county_scope on alert_deliveries
    using (exists (select 1 from alerts a where a.id = alert_id and landuse_sees(a.county_code)));

-- The role that migrates switches its service connections to landuse_app (LANDUSE_DB_ROLE),
-- which needs membership unless it is a superuser. Where it may not grant that, an
-- administrator does, and nothing else here depends on it.
do $$
begin
    if not (select rolsuper from pg_roles where rolname = current_user)
       and not pg_has_role(current_user, 'landuse_app', 'member') then
        execute format('grant landuse_app to %I', current_user);
    end if;
exception when insufficient_privilege or invalid_grant_operation or unique_violation then
    null;
end;
$$;

-- A session that logs in as landuse_app directly (a deployment may give it LOGIN) gets the
-- same statement timeout the service's pool sets on each of its connections: no statement
-- of the application runs unbounded. Set once; a later change is an administrator's.
do $$
begin
    if not exists (select 1 from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
                    where r.rolname = 'landuse_app' and s.setdatabase = 0) then
        alter role landuse_app set statement_timeout = '30s';
    end if;
exception when insufficient_privilege then
    null;
end;
$$;
