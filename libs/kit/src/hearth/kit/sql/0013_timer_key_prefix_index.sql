-- Prefix cancels and locks (every timer of a session) read a range of keys in code-point order.  The primary key
-- sorts by the database's collation, which the planner cannot turn a prefix into a range of unless it is "C", so
-- without this index a prefix cancel scans every pending timer while holding its locks.
CREATE INDEX hearth_timers_key_c ON hearth_timers (key COLLATE "C");
