-- 0020: the installer's ban policy for the SIP edge (site system.sip_ban_*,
-- sip_trusted): 0 and '' mean the built-in defaults (5 failures in 10 min,
-- a 1 h ban, nothing trusted). Trusted networks are comma-separated.
ALTER TABLE system ADD COLUMN sip_ban_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system ADD COLUMN sip_ban_window_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system ADD COLUMN sip_ban_time_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system ADD COLUMN sip_trusted TEXT NOT NULL DEFAULT '';
