-- Alerts the sweeper raises (three-week clearing, stage time limits), their delivery to
-- webhooks through an outbox, and the weekly dispatch snapshots.

-- Each alert is a fact about one subject, raised once: a ledger item (due soon, overdue) or
-- one stay of a case in a stage (deadline near, passed). The unique constraints make a second
-- alert for the same subject and kind impossible, whichever process or restart tries.
create table alerts (
    id bigserial primary key,
    kind text not null,
    case_id uuid not null references cases (id),
    -- the ledger item a clearing alert is about (null for stage-deadline alerts)
    ledger_item_id uuid references ledger_items (id),
    -- the stay in a stage a deadline alert is about: cases.stage_entered_at, which a correction
    -- does not change (null for clearing alerts)
    stage_entered_at timestamptz,
    stage text not null,
    county_code text not null references counties (code),
    raised_at timestamptz not null,
    -- when the limit passes: the close of the item's due day, or of the stage's last working day
    due_at timestamptz not null,
    -- who is told (domain alerts::Recipient)
    recipients jsonb not null,
    -- what the reader needs without another request: titles, dates, days left
    details jsonb not null default '{}',
    constraint alerts_kind_known check (kind in ('ledger_due_soon', 'ledger_overdue', 'deadline_near', 'deadline_passed')),
    constraint alerts_one_subject check (
        (kind in ('ledger_due_soon', 'ledger_overdue') and ledger_item_id is not null and stage_entered_at is null)
        or (kind in ('deadline_near', 'deadline_passed') and ledger_item_id is null and stage_entered_at is not null)),
    constraint alerts_once_per_item unique (ledger_item_id, kind),
    constraint alerts_once_per_stage_stay unique (case_id, stage, stage_entered_at, kind)
);
create index alerts_county on alerts (county_code, id);
create index alerts_case on alerts (case_id, id);

create trigger alerts_append_only before update or delete on alerts
    for each row execute function refuse_change();
create trigger alerts_no_truncate before truncate on alerts
    for each statement execute function refuse_change();

-- The outbox: one row per alert and configured webhook, written in the transaction that raises
-- the alert, so an alert is never raised without being queued nor queued without being raised.
create table alert_deliveries (
    id bigserial primary key,
    alert_id bigint not null references alerts (id),
    endpoint text not null,
    state text not null default 'pending',
    attempts integer not null default 0,
    next_attempt_at timestamptz not null,
    last_attempt_at timestamptz,
    -- the last failure (status code or transport error), for whoever looks at the dead letters
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz not null,
    constraint alert_deliveries_state_known check (state in ('pending', 'delivered', 'dead')),
    constraint alert_deliveries_once unique (alert_id, endpoint),
    constraint alert_deliveries_attempts_counted check (attempts >= 0)
);
create index alert_deliveries_due on alert_deliveries (next_attempt_at, id) where state = 'pending';

-- The weekly dispatch (调度): one snapshot per scheduled instant, whichever process takes it.
create table dispatch_snapshots (
    id uuid primary key,
    -- the week counted: [period_start, period_end), period_end being the scheduled instant
    period_start timestamptz not null,
    period_end timestamptz not null,
    taken_at timestamptz not null,
    constraint dispatch_snapshots_one_per_period unique (period_end),
    constraint dispatch_snapshots_period_order check (period_start < period_end)
);

create table dispatch_rows (
    snapshot_id uuid not null references dispatch_snapshots (id),
    county_code text not null references counties (code),
    stage text not null,
    opened integer not null,
    cleared integer not null,
    still_open integer not null,
    due_soon integer not null,
    overdue integer not null,
    -- of the still-open items, those whose case is on the green channel
    green_open integer not null,
    primary key (snapshot_id, county_code, stage),
    constraint dispatch_rows_counts_consistent check (
        due_soon + overdue <= still_open and green_open <= still_open
        and least(opened, cleared, still_open, due_soon, overdue, green_open) >= 0)
);

create trigger dispatch_rows_append_only before update or delete on dispatch_rows
    for each row execute function refuse_change();
