-- 0021: a TLS trunk's media (site trunks[].srtp): '' or 'sdes' offers and
-- accepts SRTP keyed in the SDP, 'off' keeps plain RTP under TLS.
ALTER TABLE trunks ADD COLUMN srtp TEXT NOT NULL DEFAULT '';
