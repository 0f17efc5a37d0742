-- ringbox fresh schema: migrations 1-22
-- Generated from migrations/ by go test -run TestFreshSchema -args -update; do not edit (freshschema.go).
CREATE TABLE system (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	site_version  INTEGER NOT NULL DEFAULT 0,
	name          TEXT NOT NULL DEFAULT '',
	timezone      TEXT NOT NULL DEFAULT '',
	tone_zone     TEXT NOT NULL DEFAULT '',
	office_number TEXT NOT NULL DEFAULT '',
	language      TEXT NOT NULL DEFAULT '',
	loop_limit    INTEGER NOT NULL DEFAULT 0,
	loop_to       TEXT NOT NULL DEFAULT '',
	smtp_set      INTEGER NOT NULL DEFAULT 0 CHECK (smtp_set IN (0, 1)),
	smtp_host     TEXT NOT NULL DEFAULT '',
	smtp_from     TEXT NOT NULL DEFAULT '',
	smtp_username TEXT NOT NULL DEFAULT '',
	smtp_password TEXT NOT NULL DEFAULT ''
, sip_digest TEXT NOT NULL DEFAULT '', transfer_recall_ns INTEGER NOT NULL DEFAULT 0, park_slots TEXT NOT NULL DEFAULT '', park_timeout_ns INTEGER NOT NULL DEFAULT 0, voicemail_pin_required INTEGER NOT NULL DEFAULT 0 CHECK (voicemail_pin_required IN (0, 1)), disa_attempts INTEGER NOT NULL DEFAULT 0, disa_window_ns INTEGER NOT NULL DEFAULT 0, caller_lists TEXT NOT NULL DEFAULT '', international_hours TEXT NOT NULL DEFAULT '', alert_email TEXT NOT NULL DEFAULT '', sip_user_agent TEXT NOT NULL DEFAULT '', max_setup_per_source INTEGER NOT NULL DEFAULT 0, max_calls_per_source INTEGER NOT NULL DEFAULT 0, sip_ban_failures INTEGER NOT NULL DEFAULT 0, sip_ban_window_ns INTEGER NOT NULL DEFAULT 0, sip_ban_time_ns INTEGER NOT NULL DEFAULT 0, sip_trusted TEXT NOT NULL DEFAULT '', media_timeout_ns INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE extensions (
	number       TEXT PRIMARY KEY,
	pos          INTEGER NOT NULL,
	name         TEXT NOT NULL,
	secret       TEXT NOT NULL,
	-- SIP digest credentials: MD5/SHA-256 of "number:realm:secret".
	ha1_realm    TEXT NOT NULL,
	ha1_md5      TEXT NOT NULL,
	ha1_sha256   TEXT NOT NULL,
	voicemail    INTEGER NOT NULL CHECK (voicemail IN (0, 1)),
	email        TEXT NOT NULL,
	hunt_blocked INTEGER NOT NULL CHECK (hunt_blocked IN (0, 1)),
	permission   TEXT NOT NULL,
	dnd          INTEGER NOT NULL CHECK (dnd IN (0, 1))
, pickup_group TEXT NOT NULL DEFAULT '', voicemail_pin TEXT NOT NULL DEFAULT '', mobile TEXT NOT NULL DEFAULT '', disa_pin TEXT NOT NULL DEFAULT '', max_outside_calls INTEGER NOT NULL DEFAULT 0, outside_calls_per_hour INTEGER NOT NULL DEFAULT 0, allow TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE agents (
	id              TEXT PRIMARY KEY,
	pos             INTEGER NOT NULL,
	name            TEXT NOT NULL,
	extension       TEXT NOT NULL, -- an extension or an FXS line's number: no foreign key
	mobile          TEXT NOT NULL,
	ring_preference TEXT NOT NULL,
	mobile_after_ns INTEGER NOT NULL,
	role            TEXT NOT NULL,
	reports_to      TEXT REFERENCES agents (id) ON DELETE SET NULL,
	auto_login      INTEGER NOT NULL CHECK (auto_login IN (0, 1)),
	button          INTEGER NOT NULL,
	pin             TEXT NOT NULL
, wrapup_after_all_calls INTEGER NOT NULL DEFAULT 0 CHECK (wrapup_after_all_calls IN (0, 1)), wrapup_ns INTEGER NOT NULL DEFAULT 0, skills TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE agent_hours (
	agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	days     TEXT NOT NULL,
	from_hm  TEXT NOT NULL,
	to_hm    TEXT NOT NULL,
	PRIMARY KEY (agent_id, pos)
) STRICT;
CREATE TABLE prompts (
	id   TEXT PRIMARY KEY,
	pos  INTEGER NOT NULL,
	file TEXT NOT NULL
) STRICT;
CREATE TABLE hold_music (
	id     TEXT PRIMARY KEY,
	pos    INTEGER NOT NULL,
	device TEXT NOT NULL
) STRICT;
CREATE TABLE hold_music_files (
	class_id TEXT NOT NULL REFERENCES hold_music (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	file     TEXT NOT NULL,
	PRIMARY KEY (class_id, pos)
) STRICT;
CREATE TABLE ring_groups (
	id         TEXT PRIMARY KEY,
	pos        INTEGER NOT NULL,
	name       TEXT NOT NULL,
	repeat     INTEGER NOT NULL,
	cid_prefix TEXT NOT NULL,
	confirm    TEXT NOT NULL,
	music      TEXT NOT NULL,
	no_answer  TEXT NOT NULL
, ring_unavailable_agents INTEGER NOT NULL DEFAULT 0 CHECK (ring_unavailable_agents IN (0, 1))) STRICT;
CREATE TABLE ring_group_stages (
	group_id TEXT NOT NULL REFERENCES ring_groups (id) ON DELETE CASCADE,
	stage    INTEGER NOT NULL,
	for_ns   INTEGER NOT NULL,
	PRIMARY KEY (group_id, stage)
) STRICT;
CREATE TABLE ring_group_stage_members (
	group_id TEXT NOT NULL,
	stage    INTEGER NOT NULL,
	pos      INTEGER NOT NULL,
	member   TEXT NOT NULL,
	PRIMARY KEY (group_id, stage, pos),
	FOREIGN KEY (group_id, stage) REFERENCES ring_group_stages (group_id, stage) ON DELETE CASCADE
) STRICT;
CREATE TABLE hunt_groups (
	id        TEXT PRIMARY KEY,
	pos       INTEGER NOT NULL,
	name      TEXT NOT NULL,
	strategy  TEXT NOT NULL,
	ring_ns   INTEGER NOT NULL,
	no_answer TEXT NOT NULL
, ring_unavailable_agents INTEGER NOT NULL DEFAULT 0 CHECK (ring_unavailable_agents IN (0, 1))) STRICT;
CREATE TABLE hunt_group_members (
	group_id TEXT NOT NULL REFERENCES hunt_groups (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	member   TEXT NOT NULL,
	PRIMARY KEY (group_id, pos)
) STRICT;
CREATE TABLE queues (
	id                   TEXT PRIMARY KEY,
	pos                  INTEGER NOT NULL,
	name                 TEXT NOT NULL,
	strategy             TEXT NOT NULL,
	agent_ring_ns        INTEGER NOT NULL,
	wrapup_ns            INTEGER NOT NULL,
	confirm              INTEGER NOT NULL CHECK (confirm IN (0, 1)),
	max_no_answer        INTEGER NOT NULL,
	retry_delay_ns       INTEGER NOT NULL,
	max_wait_ns          INTEGER NOT NULL,
	on_timeout           TEXT NOT NULL,
	on_empty             TEXT NOT NULL,
	hold_music           TEXT NOT NULL, -- may name a built-in class: no foreign key
	comfort_set          INTEGER NOT NULL CHECK (comfort_set IN (0, 1)),
	comfort_every_ns     INTEGER NOT NULL,
	announce_position_ns INTEGER NOT NULL,
	level_wait_ns        INTEGER NOT NULL,
	service_level_ns     INTEGER NOT NULL,
	exit_key             TEXT NOT NULL,
	exit_to              TEXT NOT NULL
, led INTEGER NOT NULL DEFAULT 0, number TEXT NOT NULL DEFAULT '', skills TEXT NOT NULL DEFAULT '', skill_widening TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE queue_agents (
	queue_id TEXT NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	agent_id TEXT NOT NULL REFERENCES agents (id),
	level    INTEGER NOT NULL,
	PRIMARY KEY (queue_id, pos),
	UNIQUE (queue_id, agent_id)
) STRICT;
CREATE INDEX queue_agents_agent ON queue_agents (agent_id);
CREATE TABLE queue_comfort_prompts (
	queue_id TEXT NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	prompt   TEXT NOT NULL,
	PRIMARY KEY (queue_id, pos)
) STRICT;
CREATE TABLE ivrs (
	id               TEXT PRIMARY KEY,
	pos              INTEGER NOT NULL,
	name             TEXT NOT NULL,
	greeting         TEXT NOT NULL,
	direct_dial      INTEGER NOT NULL CHECK (direct_dial IN (0, 1)),
	timeout_ns       INTEGER NOT NULL,
	digit_timeout_ns INTEGER NOT NULL,
	retries          INTEGER NOT NULL,
	timeout_retries  INTEGER NOT NULL,
	invalid          TEXT NOT NULL,
	on_invalid       TEXT NOT NULL,
	on_timeout       TEXT NOT NULL
, option_skills TEXT NOT NULL DEFAULT '', callers TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE ivr_options (
	ivr_id      TEXT NOT NULL REFERENCES ivrs (id) ON DELETE CASCADE,
	key         TEXT NOT NULL,
	destination TEXT NOT NULL,
	PRIMARY KEY (ivr_id, key)
) STRICT;
CREATE TABLE announcements (
	id     TEXT PRIMARY KEY,
	pos    INTEGER NOT NULL,
	prompt TEXT NOT NULL,
	record INTEGER NOT NULL CHECK (record IN (0, 1)),
	next   TEXT NOT NULL
) STRICT;
CREATE TABLE schedules (
	id   TEXT PRIMARY KEY,
	pos  INTEGER NOT NULL,
	name TEXT NOT NULL
) STRICT;
CREATE TABLE schedule_ranges (
	schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
	pos         INTEGER NOT NULL,
	days        TEXT NOT NULL,
	from_hm     TEXT NOT NULL,
	to_hm       TEXT NOT NULL,
	PRIMARY KEY (schedule_id, pos)
) STRICT;
CREATE TABLE schedule_holidays (
	schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
	pos         INTEGER NOT NULL,
	day         TEXT NOT NULL, -- YYYY-MM-DD
	PRIMARY KEY (schedule_id, pos)
) STRICT;
CREATE TABLE inbound_routes (
	pos         INTEGER PRIMARY KEY,
	match       TEXT NOT NULL,
	schedule_id TEXT REFERENCES schedules (id),
	destination TEXT NOT NULL,
	otherwise   TEXT NOT NULL
, caller TEXT NOT NULL DEFAULT '', skills TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE voicemail_boxes (
	box           TEXT PRIMARY KEY,
	pos           INTEGER NOT NULL,
	name          TEXT NOT NULL,
	email         TEXT NOT NULL,
	greeting      TEXT NOT NULL,
	max_length_ns INTEGER NOT NULL,
	min_length_ns INTEGER NOT NULL,
	pin           TEXT NOT NULL
) STRICT;
CREATE TABLE trunks (
	id        TEXT PRIMARY KEY,
	pos       INTEGER NOT NULL,
	host      TEXT NOT NULL,
	transport TEXT NOT NULL,
	username  TEXT NOT NULL,
	password  TEXT NOT NULL,
	register  INTEGER NOT NULL CHECK (register IN (0, 1)),
	fxo       INTEGER NOT NULL,
	caller_id TEXT NOT NULL
, office_number TEXT NOT NULL DEFAULT '', silence_timeout_ns INTEGER NOT NULL DEFAULT 0, prack TEXT NOT NULL DEFAULT '', max_outbound_calls INTEGER NOT NULL DEFAULT 0, outbound_per_hour INTEGER NOT NULL DEFAULT 0, match_header_name TEXT NOT NULL DEFAULT '', match_header_value TEXT NOT NULL DEFAULT '', inbound_auth_username TEXT NOT NULL DEFAULT '', inbound_auth_password TEXT NOT NULL DEFAULT '', max_inbound_setup INTEGER NOT NULL DEFAULT 0, max_inbound_calls INTEGER NOT NULL DEFAULT 0, srtp TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE outbound_routes (
	pos        INTEGER PRIMARY KEY,
	pattern    TEXT NOT NULL,
	strip      INTEGER NOT NULL,
	prepend    TEXT NOT NULL,
	emergency  INTEGER NOT NULL CHECK (emergency IN (0, 1)),
	permission TEXT NOT NULL
, allow_symbols INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE outbound_route_trunks (
	route_pos INTEGER NOT NULL REFERENCES outbound_routes (pos) ON DELETE CASCADE,
	pos       INTEGER NOT NULL,
	trunk_id  TEXT NOT NULL REFERENCES trunks (id),
	PRIMARY KEY (route_pos, pos)
) STRICT;
CREATE INDEX outbound_route_trunks_trunk ON outbound_route_trunks (trunk_id);
CREATE TABLE lines (
	port      TEXT PRIMARY KEY, -- fxs:N
	pos       INTEGER NOT NULL,
	extension TEXT NOT NULL
, call_waiting INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE users (
	login         TEXT PRIMARY KEY,
	pos           INTEGER NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
	agent_id      TEXT REFERENCES agents (id) ON DELETE SET NULL,
	password_hash TEXT NOT NULL -- bcrypt
) STRICT;
CREATE INDEX users_agent ON users (agent_id);
CREATE TABLE config_version (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	version    INTEGER NOT NULL,
	changed_ms INTEGER
) STRICT;
CREATE TABLE api_tokens (
	name         TEXT PRIMARY KEY,
	role         TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
	hash         BLOB NOT NULL UNIQUE, -- sha256 of the token
	created_ms   INTEGER NOT NULL,
	last_used_ms INTEGER
) STRICT;
CREATE TABLE sessions (
	hash       BLOB PRIMARY KEY, -- sha256 of the cookie token
	login      TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE ON UPDATE CASCADE,
	created_ms INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_login ON sessions (login);
CREATE INDEX sessions_expires ON sessions (expires_ms);
CREATE TABLE hunt_state (
	group_id TEXT PRIMARY KEY,
	next     INTEGER NOT NULL
) STRICT;
CREATE TABLE agent_status (
	agent          TEXT PRIMARY KEY,
	status         TEXT NOT NULL,
	reason         TEXT NOT NULL,
	since_ms       INTEGER NOT NULL,
	auto_return_ms INTEGER
, out_of TEXT NOT NULL DEFAULT '[]') STRICT;
CREATE TABLE cdr (
	id          INTEGER PRIMARY KEY,
	call_id     TEXT NOT NULL,
	caller      TEXT NOT NULL,
	caller_name TEXT NOT NULL,
	callee      TEXT NOT NULL,
	direction   TEXT NOT NULL,
	trunk       TEXT NOT NULL,
	path        TEXT NOT NULL, -- JSON array of destinations
	start_ms    INTEGER NOT NULL,
	answer_ms   INTEGER,
	end_ms      INTEGER,
	billable_ms INTEGER NOT NULL,
	cause       TEXT NOT NULL,
	hangup_by   TEXT NOT NULL,
	recording   TEXT NOT NULL
, number_sent TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '', answered_by TEXT NOT NULL DEFAULT '', transfers TEXT NOT NULL DEFAULT '[]', transfer_of TEXT NOT NULL DEFAULT '') STRICT;
CREATE INDEX cdr_start ON cdr (start_ms);
CREATE INDEX cdr_caller ON cdr (caller, start_ms);
CREATE INDEX cdr_callee ON cdr (callee, start_ms);
CREATE INDEX cdr_call_id ON cdr (call_id);
CREATE TABLE cdr_legs (
	cdr_id    INTEGER NOT NULL REFERENCES cdr (id),
	seq       INTEGER NOT NULL,
	leg_id    TEXT NOT NULL,
	target    TEXT NOT NULL,
	start_ms  INTEGER,
	answer_ms INTEGER,
	end_ms    INTEGER,
	cause     TEXT NOT NULL, agent TEXT NOT NULL DEFAULT '', trunk TEXT NOT NULL DEFAULT '', number_sent TEXT NOT NULL DEFAULT '', transfer_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (cdr_id, seq)
) STRICT;
CREATE TABLE queue_log (
	id      INTEGER PRIMARY KEY,
	time_ms INTEGER NOT NULL,
	call_id TEXT NOT NULL,
	queue   TEXT NOT NULL,
	agent   TEXT NOT NULL,
	event   TEXT NOT NULL,
	data1   TEXT NOT NULL,
	data2   TEXT NOT NULL,
	data3   TEXT NOT NULL,
	data4   TEXT NOT NULL,
	data5   TEXT NOT NULL
) STRICT;
CREATE INDEX queue_log_time ON queue_log (time_ms);
CREATE INDEX queue_log_queue ON queue_log (queue, time_ms);
CREATE TABLE agent_activity (
	id      INTEGER PRIMARY KEY,
	time_ms INTEGER NOT NULL,
	agent   TEXT NOT NULL,
	status  TEXT NOT NULL,
	state   TEXT NOT NULL,
	reason  TEXT NOT NULL,
	source  TEXT NOT NULL
) STRICT;
CREATE INDEX agent_activity_time ON agent_activity (time_ms);
CREATE INDEX agent_activity_agent ON agent_activity (agent, time_ms);
CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	time_ms INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	object  TEXT NOT NULL,
	detail  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_time ON audit (time_ms);
CREATE TRIGGER cdr_no_update BEFORE UPDATE ON cdr
BEGIN SELECT RAISE(ABORT, 'cdr is append-only'); END;
CREATE TRIGGER cdr_no_delete BEFORE DELETE ON cdr
BEGIN SELECT RAISE(ABORT, 'cdr is append-only'); END;
CREATE TRIGGER cdr_legs_no_update BEFORE UPDATE ON cdr_legs
BEGIN SELECT RAISE(ABORT, 'cdr_legs is append-only'); END;
CREATE TRIGGER cdr_legs_no_delete BEFORE DELETE ON cdr_legs
BEGIN SELECT RAISE(ABORT, 'cdr_legs is append-only'); END;
CREATE TRIGGER queue_log_no_update BEFORE UPDATE ON queue_log
BEGIN SELECT RAISE(ABORT, 'queue_log is append-only'); END;
CREATE TRIGGER queue_log_no_delete BEFORE DELETE ON queue_log
BEGIN SELECT RAISE(ABORT, 'queue_log is append-only'); END;
CREATE TRIGGER agent_activity_no_update BEFORE UPDATE ON agent_activity
BEGIN SELECT RAISE(ABORT, 'agent_activity is append-only'); END;
CREATE TRIGGER agent_activity_no_delete BEFORE DELETE ON agent_activity
BEGIN SELECT RAISE(ABORT, 'agent_activity is append-only'); END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TABLE voicemail_messages (
	id          INTEGER PRIMARY KEY,
	box         TEXT NOT NULL,
	time_ms     INTEGER NOT NULL,
	caller      TEXT NOT NULL,
	caller_name TEXT NOT NULL,
	duration_ns INTEGER NOT NULL,
	file        TEXT NOT NULL, -- relative to the data directory
	heard       INTEGER NOT NULL DEFAULT 0 CHECK (heard IN (0, 1)),
	call_id     TEXT NOT NULL
) STRICT;
CREATE INDEX voicemail_messages_box ON voicemail_messages (box, time_ms);
CREATE TABLE schedule_overrides (
	schedule TEXT PRIMARY KEY,
	open     INTEGER NOT NULL,
	until_ms INTEGER,          -- NULL: until cleared
	set_ms   INTEGER NOT NULL,
	set_by   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE site_versions (
	version       INTEGER PRIMARY KEY,
	site_yaml     TEXT NOT NULL,
	user_hashes   TEXT NOT NULL,
	actor         TEXT NOT NULL,
	applied_ms    INTEGER NOT NULL,
	change        TEXT NOT NULL,
	restored_from INTEGER
) STRICT;
CREATE TABLE drafts (
	login       TEXT PRIMARY KEY,
	base        INTEGER NOT NULL,
	site_yaml   TEXT NOT NULL,
	user_hashes TEXT NOT NULL,
	updated_ms  INTEGER NOT NULL
) STRICT;
CREATE TABLE call_notes (
	id         INTEGER PRIMARY KEY,
	call_id    TEXT NOT NULL,
	caller     TEXT NOT NULL, -- the calling number, so history finds notes of calls without a CDR yet
	author     TEXT NOT NULL, -- web login
	agent      TEXT NOT NULL, -- the author's agent id, "" for users bound to none
	text       TEXT NOT NULL,
	time_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX call_notes_call ON call_notes (call_id);
CREATE INDEX call_notes_caller ON call_notes (caller, time_ms);
CREATE TRIGGER call_notes_no_update BEFORE UPDATE ON call_notes
BEGIN SELECT RAISE(ABORT, 'call_notes is append-only'); END;
CREATE TRIGGER call_notes_no_delete BEFORE DELETE ON call_notes
BEGIN SELECT RAISE(ABORT, 'call_notes is append-only'); END;
CREATE TABLE calls_in_progress (
	call_id     TEXT PRIMARY KEY,
	caller      TEXT NOT NULL,
	caller_name TEXT NOT NULL,
	callee      TEXT NOT NULL,
	direction   TEXT NOT NULL,
	trunk       TEXT NOT NULL,
	start_ms    INTEGER NOT NULL,
	answer_ms   INTEGER
, number_sent TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE heartbeat (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE voicemail_outbox (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER NOT NULL,
	box          TEXT NOT NULL,
	box_name     TEXT NOT NULL,
	recipient    TEXT NOT NULL,
	caller       TEXT NOT NULL,
	caller_name  TEXT NOT NULL,
	call_id      TEXT NOT NULL,
	time_ms      INTEGER NOT NULL,
	duration_ns  INTEGER NOT NULL,
	file         TEXT NOT NULL, -- relative to the data directory
	state        TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_ms      INTEGER NOT NULL, -- when the next try is due (pending)
	last_error   TEXT NOT NULL DEFAULT '',
	created_ms   INTEGER NOT NULL,
	done_ms      INTEGER NOT NULL DEFAULT 0 -- when sent or given up
) STRICT;
CREATE INDEX voicemail_outbox_due ON voicemail_outbox (state, next_ms);
CREATE TABLE conferences (
	id          TEXT PRIMARY KEY,
	pos         INTEGER NOT NULL,
	number      TEXT NOT NULL,
	pin         TEXT NOT NULL,
	max_members INTEGER NOT NULL,
	announce    TEXT NOT NULL,
	mute_key    TEXT NOT NULL
) STRICT;
CREATE TABLE sip_bans (
  key      TEXT PRIMARY KEY,        -- an address, or ext:NUMBER
  reason   TEXT NOT NULL,
  count    INTEGER NOT NULL,
  offence  INTEGER NOT NULL,
  since_ms INTEGER NOT NULL,
  until_ms INTEGER NOT NULL,
  exempt   TEXT NOT NULL DEFAULT '' -- addresses still accepted for an extension, comma-separated
);
CREATE TABLE trunk_ports (
	trunk_id TEXT NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	port     INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
	PRIMARY KEY (trunk_id, pos)
) STRICT;
CREATE TABLE trunk_allow (
	trunk_id TEXT NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	network  TEXT NOT NULL, -- an address or a CIDR network, as written
	PRIMARY KEY (trunk_id, pos)
) STRICT;
INSERT INTO "system" VALUES (1, 0, '', '', '', '', '', 0, '', 0, '', '', '', '', '', 0, '', 0, 0, 0, 0, '', '', '', '', 0, 0, 0, 0, 0, '', 0);
INSERT INTO "config_version" VALUES (1, 0, NULL);
