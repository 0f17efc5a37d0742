-- 0009: calls in progress, so that a call that was up when the process
-- died (a crash, a watchdog reset, a power cut) still gets its CDR, with
-- cause "restart", at the next start. A row is written when a call
-- starts, updated when it is answered and deleted in the transaction that
-- writes its CDR. heartbeat holds when the box was last known alive with
-- calls up: the restart CDRs end then.
CREATE TABLE calls_in_progress (
	call_id     TEXT PRIMARY KEY,
	caller      TEXT NOT NULL,
	caller_name TEXT NOT NULL,
	callee      TEXT NOT NULL,
	direction   TEXT NOT NULL,
	trunk       TEXT NOT NULL,
	start_ms    INTEGER NOT NULL,
	answer_ms   INTEGER
) STRICT;

CREATE TABLE heartbeat (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	at_ms INTEGER NOT NULL
) STRICT;
