-- 0022: site system.media_timeout, the RTP inactivity that ends a call;
-- 0 means ringbox serve's --media-timeout.
ALTER TABLE system ADD COLUMN media_timeout_ns INTEGER NOT NULL DEFAULT 0;
