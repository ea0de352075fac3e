-- The foundation every later migration builds on: PostGIS, and the bureau's time zone for
-- anything the database itself renders as a date.
create extension if not exists postgis;
