-- Advance use (先行用地, issue 18; DOMAIN.md "Advance use and phased cases"): a project on the
-- green channel asks to use land before its formal case is approved. Each request holds its
-- parcels as one multipolygon; a leader approves (with the document's number) or refuses it.
-- The project's advance-use area is the union of the parcels of its requests not refused, at
-- most a configured share (settings 'advance_use') of its pre-reviewed area; the formal case
-- must cover every approved parcel before it moves to conversion.
--
-- The rules live in the domain crate (green::advance_use, green::decide_advance_use,
-- transition's AdvanceUseCovered); the constraints here hold what any row must satisfy.
-- Requests are never deleted: a refused request stays, refused.
create table advance_use_requests (
    id uuid primary key,
    project_id uuid not null references projects (id),
    geom geometry(MultiPolygon, 4490) not null,
    -- the ellipsoidal (CGCS2000) area of geom, as the parcels' area_m2
    area_m2 double precision not null,
    -- how the parcels came: 'geojson' or 'coordinate_file', and how many there were
    source text not null,
    parcel_count integer not null,
    controls_schedule boolean not null,
    reason text not null,
    requested_by uuid not null references users (id),
    requested_role text not null,
    requested_at timestamptz not null,
    -- domain green::AdvanceUseStatus
    status text not null default 'pending',
    document_number text,
    decision_reason text,
    decided_by uuid references users (id),
    decided_role text,
    decided_at timestamptz,
    constraint advance_use_requests_status_known check (status in ('pending', 'approved', 'refused')),
    constraint advance_use_requests_source_known check (source in ('geojson', 'coordinate_file')),
    constraint advance_use_requests_area_positive check (area_m2 > 0),
    constraint advance_use_requests_parcels_given check (parcel_count > 0),
    constraint advance_use_requests_reason_not_blank check (btrim(reason) <> ''),
    constraint advance_use_requests_geom_valid check (st_isvalid(geom) and not st_isempty(geom)),
    -- a decided request names who decided, when and why; an approval its document
    constraint advance_use_requests_decision_complete check (
        (status = 'pending' and decided_by is null and decided_at is null and decision_reason is null
            and document_number is null)
        or (status <> 'pending' and decided_by is not null and decided_role is not null
            and decided_at is not null and btrim(decision_reason) <> '')),
    constraint advance_use_requests_approval_documented check (
        status <> 'approved' or btrim(document_number) <> '')
);
create index advance_use_requests_project on advance_use_requests (project_id, requested_at);
create index advance_use_requests_geom on advance_use_requests using gist (geom);

alter table advance_use_requests enable row level security;
create policy county_scope on advance_use_requests
    using (exists (select 1 from projects p where p.id = project_id and landuse_sees(p.county_code)));
-- The service adds requests and records each decision once; it never removes one.
grant select, insert, update on advance_use_requests to landuse_app;
revoke delete, truncate on advance_use_requests from landuse_app;

-- A decided request is final: only a pending one may change, and only its decision.
create function advance_use_decided_once() returns trigger language plpgsql as $$
begin
    if old.status <> 'pending' then
        raise exception 'advance-use request % is already %', old.id, old.status;
    end if;
    if (new.id, new.project_id, new.area_m2, new.source, new.parcel_count, new.controls_schedule,
        new.reason, new.requested_by, new.requested_role, new.requested_at)
       is distinct from
       (old.id, old.project_id, old.area_m2, old.source, old.parcel_count, old.controls_schedule,
        old.reason, old.requested_by, old.requested_role, old.requested_at)
       or not st_equals(new.geom, old.geom) then
        raise exception 'only the decision of advance-use request % may change', old.id;
    end if;
    return new;
end $$;
create trigger advance_use_requests_decided_once before update on advance_use_requests
    for each row execute function advance_use_decided_once();

-- The project's history records each request and each decision.
alter table project_events drop constraint project_events_kind_known;
alter table project_events add constraint project_events_kind_known
    check (kind in ('registered', 'edited', 'proposed', 'designated', 'taken_off', 'classified', 'start_recorded',
                    'advance_use_requested', 'advance_use_approved', 'advance_use_refused'));
