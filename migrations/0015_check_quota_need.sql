-- What a check says its case needs of construction quota (DOMAIN.md "Quotas and farmland
-- balance": the parcels' area less existing construction land, mu rounded up), decided with the
-- check's dismissals and stored beside its result, so the case view and the case list show need,
-- held and shortfall without deciding every listed case's report again. Set when the check runs
-- and again on each dismissal; null for checks stored before this migration, whose need the
-- ledger endpoints still decide from the report.
alter table checks add column quota_need_mu numeric(14, 2);
alter table checks add constraint checks_quota_need_not_negative check (quota_need_mu >= 0);
