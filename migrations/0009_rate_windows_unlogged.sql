-- The per-token request counters need no durability: after a crash, counting a window again
-- from zero is harmless. As a logged table, every authenticated request committed a WAL record
-- and waited for its flush (measured by make bench: the rate-limit upsert took the footprint
-- check from 2.6× to 5.3× its bare-PostGIS floor). Unlogged, the upsert writes no WAL, so its
-- commit does not wait on the disk. Unlogged tables are not sent to streaming replicas, which
-- never count requests.
alter table rate_windows set unlogged;
