-- 0017: the SIP edge (issue 15 part 1): extensions' allow lists (CIDR,
-- comma-separated), the box's User-Agent, and the bans of the edge
-- filter, kept across restarts. A ban row stays a day after it ends so a
-- repeat offender's next ban doubles even across a restart.
ALTER TABLE extensions ADD COLUMN allow TEXT NOT NULL DEFAULT '';
ALTER TABLE system ADD COLUMN sip_user_agent TEXT NOT NULL DEFAULT '';
CREATE TABLE sip_bans (
  key      TEXT PRIMARY KEY,        -- an address, or ext:NUMBER
  reason   TEXT NOT NULL,
  count    INTEGER NOT NULL,
  offence  INTEGER NOT NULL,
  since_ms INTEGER NOT NULL,
  until_ms INTEGER NOT NULL,
  exempt   TEXT NOT NULL DEFAULT '' -- addresses still accepted for an extension, comma-separated
);
