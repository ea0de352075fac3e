-- Land supply after approval (issue 19; DOMAIN.md "Land supply: from approval to use"): each
-- part of an approval supplied (供地), its handover (交地), certificate (不动产权证), start,
-- progress and completion with the standard-land indicators agreed and achieved; the idle-land
-- alerts about a part; the approval batches the figures are counted by; and the
-- `development_zone` layer kind the standard-land goals are set against.
--
-- The rules live in the domain crate (supply::validate, supply::part::check_part). The
-- constraints here hold what any row must satisfy whoever writes it, including records
-- imported from an older system: they do not forbid a part that overlaps another or reaches
-- outside the approval (such records exist and the figures clip them), which the API refuses.

-- One part of an approval as supplied, and what followed it. Areas and money are numeric(14, 2),
-- read and bound as whole hundredths, as the ledgers' are.
create table supply_parts (
    id uuid primary key,
    case_id uuid not null references cases (id),
    seq integer not null,
    -- domain supply::SupplyMethod
    method text not null,
    -- the allocation decision's or the contract's number, and its date (the day of supply)
    document_number text not null,
    decided_on date not null,
    -- 万元; none for an allocation without a price
    price_wan_yuan numeric(14, 2),
    -- the supplied geometry, validated in Rust and bound as WKB with SRID 4490
    geom geometry(MultiPolygon, 4490) not null,
    -- its ellipsoidal area (CGCS2000), and the same in mu as the figures state it
    area_m2 double precision not null,
    area_mu numeric(14, 2) not null,
    -- geojson or coordinate_file through the API; import for records from an older system
    source text not null,
    industrial boolean not null,
    agreed_handover_on date not null,
    agreed_start_on date not null,
    agreed_completion_on date not null,
    -- 万元, the total investment agreed, against which a partial start is judged
    agreed_investment_wan_yuan numeric(14, 2),
    -- the standard-land indicators agreed at supply (industrial land), each in its unit:
    -- 万元/亩, a ratio, 万元/亩·年, kgce/万元; all or none
    agreed_investment_intensity numeric(14, 2),
    agreed_floor_area_ratio numeric(14, 2),
    agreed_tax_per_mu numeric(14, 2),
    agreed_energy_per_output numeric(14, 2),
    agreed_land_use_standard_met boolean,
    handed_over_on date,
    certificate_number text,
    certificate_issued_on date,
    started_on date,
    -- progress since the start: area developed (mu), investment made (万元), a halt
    developed_mu numeric(14, 2),
    invested_wan_yuan numeric(14, 2),
    halted_since date,
    completed_on date,
    -- the indicators achieved, measured at acceptance; all or none
    achieved_investment_intensity numeric(14, 2),
    achieved_floor_area_ratio numeric(14, 2),
    achieved_tax_per_mu numeric(14, 2),
    achieved_energy_per_output numeric(14, 2),
    achieved_land_use_standard_met boolean,
    -- the idle-land status the sweeper last saw (domain supply::idle::IdleStatus), so that each
    -- warning is raised once
    idle_status text,
    recorded_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null default 1,
    constraint supply_parts_seq_unique unique (case_id, seq),
    constraint supply_parts_method_known check (method in ('allocation', 'transfer_tender',
        'transfer_auction', 'transfer_listing', 'transfer_agreement', 'lease', 'capital_contribution')),
    constraint supply_parts_source_known check (source in ('geojson', 'coordinate_file', 'import')),
    constraint supply_parts_document_number_not_blank check (btrim(document_number) <> ''),
    constraint supply_parts_area_positive check (area_m2 > 0 and area_mu > 0),
    constraint supply_parts_amounts_not_negative check (
        coalesce(price_wan_yuan, 0) >= 0 and coalesce(agreed_investment_wan_yuan, 0) >= 0
        and coalesce(developed_mu, 0) >= 0 and coalesce(invested_wan_yuan, 0) >= 0
        and coalesce(agreed_investment_intensity, 0) >= 0 and coalesce(agreed_floor_area_ratio, 0) >= 0
        and coalesce(agreed_tax_per_mu, 0) >= 0 and coalesce(agreed_energy_per_output, 0) >= 0
        and coalesce(achieved_investment_intensity, 0) >= 0 and coalesce(achieved_floor_area_ratio, 0) >= 0
        and coalesce(achieved_tax_per_mu, 0) >= 0 and coalesce(achieved_energy_per_output, 0) >= 0),
    constraint supply_parts_agreed_dates_in_order check (
        decided_on <= agreed_handover_on and agreed_handover_on <= agreed_start_on
        and agreed_start_on <= agreed_completion_on),
    constraint supply_parts_agreed_indicators_all_or_none check (num_nulls(agreed_investment_intensity,
        agreed_floor_area_ratio, agreed_tax_per_mu, agreed_energy_per_output,
        agreed_land_use_standard_met) in (0, 5)),
    constraint supply_parts_indicators_only_industrial check (industrial or agreed_investment_intensity is null),
    constraint supply_parts_achieved_indicators_all_or_none check (num_nulls(achieved_investment_intensity,
        achieved_floor_area_ratio, achieved_tax_per_mu, achieved_energy_per_output,
        achieved_land_use_standard_met) in (0, 5)),
    constraint supply_parts_handover_after_decision check (handed_over_on is null or handed_over_on >= decided_on),
    constraint supply_parts_certificate_needs_handover check (
        (certificate_number is null) = (certificate_issued_on is null)
        and (certificate_number is null or handed_over_on is not null)),
    constraint supply_parts_start_after_handover check (
        started_on is null or (handed_over_on is not null and started_on >= handed_over_on)),
    constraint supply_parts_progress_needs_start check (
        started_on is not null or num_nonnulls(developed_mu, invested_wan_yuan, halted_since, completed_on) = 0),
    constraint supply_parts_halt_after_start check (halted_since is null or halted_since >= started_on),
    constraint supply_parts_completion_after_start check (completed_on is null or completed_on >= started_on),
    constraint supply_parts_achieved_needs_completion check (
        completed_on is not null or achieved_investment_intensity is null),
    constraint supply_parts_developed_within_area check (developed_mu is null or developed_mu <= area_mu),
    constraint supply_parts_idle_status_known check (idle_status is null or idle_status in ('on_schedule',
        'due_soon', 'idle', 'partial_idle', 'reclaimable', 'government_caused', 'started', 'completed'))
);
create index supply_parts_case on supply_parts (case_id, seq);
create index supply_parts_geom on supply_parts using gist (geom);

alter table supply_parts enable row level security;
create policy county_scope on supply_parts
    using (exists (select 1 from cases c where c.id = case_id and landuse_sees(c.county_code)));
grant select, insert, update on supply_parts to landuse_app;

-- The approval batches: every case whose conversion was approved (now in supply, registration
-- or completed), with the approval's number and day (the bureau's date of the transition from
-- conversion to supply; the pool sets the bureau's time zone). `security_invoker` keeps the
-- county scope of `cases` and `case_events`.
create view approval_batches with (security_invoker = true) as
select c.id as case_id,
       c.county_code,
       coalesce(nullif(btrim(c.facts ->> 'conversion_approval'), ''), c.title) as document_number,
       a.approved_at,
       (a.approved_at at time zone 'Asia/Shanghai')::date as approved_on
  from cases c
  join lateral (select min(e.at) as approved_at
                  from case_events e
                 where e.case_id = c.id and e.from_stage = 'conversion' and e.to_stage = 'supply') a
    on a.approved_at is not null
 where c.stage in ('supply', 'registration', 'completed');

grant select on approval_batches to landuse_app;

-- Idle-land alerts are about a supplied part: once per part and kind.
alter table alerts
    add column supply_part_id uuid references supply_parts (id),
    drop constraint alerts_kind_known,
    add constraint alerts_kind_known check (kind in ('ledger_due_soon', 'ledger_overdue', 'deadline_near',
        'deadline_passed', 'land_idle_soon', 'land_idle', 'land_partial_idle', 'land_reclaimable')),
    drop constraint alerts_one_subject,
    add constraint alerts_one_subject check (
        (kind in ('ledger_due_soon', 'ledger_overdue') and ledger_item_id is not null
            and stage_entered_at is null and supply_part_id is null)
        or (kind in ('deadline_near', 'deadline_passed') and ledger_item_id is null
            and stage_entered_at is not null and supply_part_id is null)
        or (kind in ('land_idle_soon', 'land_idle', 'land_partial_idle', 'land_reclaimable')
            and ledger_item_id is null and stage_entered_at is null and supply_part_id is not null)),
    add constraint alerts_once_per_supply_part unique (supply_part_id, kind);

-- Provincial-level development zones (省级以上开发区): the standard-land share of industrial land
-- supplied inside them is held to its own goal. Not a restriction on a case.
insert into layer_kinds (code, name_zh, geometry_class, common_layer_names, overlap_result, exception)
values ('development_zone', '省级以上开发区', 'polygons', '{KFQ}', 'ok',
        'sets the standard-land goal of industrial land supplied inside it')
on conflict (code) do nothing;
