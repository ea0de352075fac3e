-- Reliability and security: a per-token request counter shared by every replica of the
-- service, and the history tables closed to changes a second way.

-- One row per token: the current fixed window and the requests counted in it. Kept in the
-- database so that any number of stateless `landuse serve` replicas share one limit; one row
-- per token (not per window) so the table never grows beyond the number of tokens in use.
create table rate_windows (
    token_hash bytea primary key,
    window_start timestamptz not null,
    hits integer not null,
    constraint rate_windows_hits_positive check (hits > 0)
);

-- The history tables already refuse UPDATE, DELETE and TRUNCATE by trigger (0003, 0004). A
-- trigger can be disabled by the table's owner, so the role the service runs as gets no
-- such privilege on them in the first place: landuse_app may read and append, nothing else.
-- Roles are cluster-wide, so it is made only if missing (and databases migrated at the same
-- moment, as the tests do, may race to make it).
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'landuse_app') then
        create role landuse_app nologin nosuperuser nocreatedb nocreaterole noinherit nobypassrls;
    end if;
exception when duplicate_object or unique_violation then
    null;
end;
$$;

grant usage on schema public to landuse_app;
grant select, insert, update, delete on all tables in schema public to landuse_app;
grant usage, select on all sequences in schema public to landuse_app;
revoke truncate on all tables in schema public from landuse_app;
-- Tables of later migrations (made by the same migrating role) get the same rights.
alter default privileges in schema public grant select, insert, update, delete on tables to landuse_app;
alter default privileges in schema public grant usage, select on sequences to landuse_app;
revoke update, delete, truncate on case_events, quota_requests, quota_movements, offset_indicators,
    offset_movements, project_start_records, alerts from landuse_app;

-- The dispatch snapshots are a weekly record as it stood: append-only too.
create trigger dispatch_snapshots_append_only before update or delete on dispatch_snapshots
    for each row execute function refuse_change();
create trigger dispatch_snapshots_no_truncate before truncate on dispatch_snapshots
    for each statement execute function refuse_change();
create trigger dispatch_rows_no_truncate before truncate on dispatch_rows
    for each statement execute function refuse_change();
revoke update, delete, truncate on dispatch_snapshots, dispatch_rows from landuse_app;
