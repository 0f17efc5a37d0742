-- 0019: trunks that cannot be spoofed into resources (issue 15 part 4).
-- How a trunk's inbound calls are told from a phone's at the same address:
-- its source ports (trunk_ports; none: the host's port and the automatic
-- rule), more source networks (trunk_allow), a header its INVITEs carry
-- (match_header_*; '' for none) and the credentials it answers the box's
-- challenge with (inbound_auth_*; no username: not challenged). The
-- password is a secret, like trunks.password.
ALTER TABLE trunks ADD COLUMN match_header_name TEXT NOT NULL DEFAULT '';
ALTER TABLE trunks ADD COLUMN match_header_value TEXT NOT NULL DEFAULT '';
ALTER TABLE trunks ADD COLUMN inbound_auth_username TEXT NOT NULL DEFAULT '';
ALTER TABLE trunks ADD COLUMN inbound_auth_password TEXT NOT NULL DEFAULT '';
-- Caps on inbound calls in set-up and in progress (0: the default).
ALTER TABLE trunks ADD COLUMN max_inbound_setup INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trunks ADD COLUMN max_inbound_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system ADD COLUMN max_setup_per_source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system ADD COLUMN max_calls_per_source INTEGER NOT NULL DEFAULT 0;
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
