-- A calendar year loaded after an overlay query was sent makes the query's provisional due date
-- final (DOMAIN.md "Calendar": loading a year recomputes the stored deadlines it changes). The
-- service may rewrite the due date of a query, and nothing else of it: the rest stays as 0020
-- left it, append-only.
grant update (due_on, due_provisional) on case_overlay_queries to landuse_app;
