-- 0006: every applied configuration, for the web console's history and
-- restore, and each web user's unfinished edit (draft).
--
-- site_versions holds one row per configuration version written by an
-- import (ImportSite, ImportSiteWith), keyed by config_version after the
-- change. site_yaml is the whole site with secrets, in the site file's
-- structure written as one line of JSON (which is YAML: site.Parse reads it;
-- see store/sitecodec.go for why not site.Marshal). It never holds web
-- passwords or their hashes; user_hashes keeps the hashes as a JSON object
-- login -> bcrypt hash, and restoring a version gives
-- every login back its password of the time. change is the import's Change
-- as JSON. restored_from is the version an import restored, NULL otherwise.
-- The store keeps the newest 200 rows (see versions.go).
CREATE TABLE site_versions (
	version       INTEGER PRIMARY KEY,
	site_yaml     TEXT NOT NULL,
	user_hashes   TEXT NOT NULL,
	actor         TEXT NOT NULL,
	applied_ms    INTEGER NOT NULL,
	change        TEXT NOT NULL,
	restored_from INTEGER
) STRICT;

-- drafts: one unfinished edit per web login, not part of the configuration
-- (saving one bumps no version and writes no audit row). base is the
-- config_version the edit started from. No foreign key to users: a draft of
-- a login removed meanwhile is harmless and is overwritten or deleted by
-- the console.
CREATE TABLE drafts (
	login       TEXT PRIMARY KEY,
	base        INTEGER NOT NULL,
	site_yaml   TEXT NOT NULL,
	user_hashes TEXT NOT NULL,
	updated_ms  INTEGER NOT NULL
) STRICT;
