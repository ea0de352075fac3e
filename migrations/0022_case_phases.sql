-- Phased and segmented cases (issue 18; DOMAIN.md "Advance use and phased cases"): a case may
-- say which phase (分期) or segment (分段) of its project it is. The rules (who may state one,
-- no kind mixed, no number twice among the live cases, no overlap of live cases' parcels) live in
-- the domain crate (phase::admit, phase::overlap_counts) and are decided with the project row
-- locked; the constraints here hold what any row must satisfy whoever writes it.
alter table cases
    add column phase_kind text,
    add column phase_number integer,
    add column phase_name text,
    add constraint cases_phase_kind_known check (phase_kind in ('phase', 'segment')),
    add constraint cases_phase_whole check ((phase_kind is null) = (phase_number is null)
        and (phase_name is null or phase_kind is not null)),
    add constraint cases_phase_number_positive check (phase_number >= 1),
    add constraint cases_phase_name_not_blank check (btrim(phase_name) <> '' and char_length(phase_name) <= 100);

-- One kind and number per live case of a project: a withdrawn or rejected case frees its number
-- (both stages are final).
create unique index cases_phase_unique_live on cases (project_id, phase_kind, phase_number)
    where phase_kind is not null and stage not in ('rejected', 'withdrawn');
