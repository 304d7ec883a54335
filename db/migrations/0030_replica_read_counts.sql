-- 0030: where reads went when a read replica is configured (issue 16):
-- served by it, or sent to the primary and why.  Each worker counts in
-- its own memory and adds its counts here at most once a second
-- (db_counters_flush, db/conn.c), so `GET /metrics` on any worker
-- reports every worker's sum, and the workers share no memory.  One row
-- per outcome, updated in place: no index but the key, half of each
-- page free, so the updates stay HOT.
CREATE TABLE replica_read_counts (
    outcome text PRIMARY KEY
        CHECK (outcome IN ('reads', 'down', 'lag', 'behind')),
    n bigint NOT NULL DEFAULT 0 CHECK (n >= 0)
) WITH (fillfactor = 50);

INSERT INTO replica_read_counts (outcome)
VALUES ('reads'), ('down'), ('lag'), ('behind');
