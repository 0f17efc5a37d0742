-- 0004: system.sip_digest, the digest challenges phones get, in order
-- ("sha256,md5"); '' is the default (md5 alone).
ALTER TABLE system ADD COLUMN sip_digest TEXT NOT NULL DEFAULT '';
