-- One call path (issue 1/7): agents' wrap-up after every call, groups that
-- ring unavailable agents anyway, the trunk's caller-ID mode, and CDR
-- fields naming the agent, the answering leg, the trunk and the number
-- actually sent.
ALTER TABLE agents ADD COLUMN wrapup_after_all_calls INTEGER NOT NULL DEFAULT 0 CHECK (wrapup_after_all_calls IN (0, 1));
ALTER TABLE agents ADD COLUMN wrapup_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ring_groups ADD COLUMN ring_unavailable_agents INTEGER NOT NULL DEFAULT 0 CHECK (ring_unavailable_agents IN (0, 1));
ALTER TABLE hunt_groups ADD COLUMN ring_unavailable_agents INTEGER NOT NULL DEFAULT 0 CHECK (ring_unavailable_agents IN (0, 1));

-- trunks.caller_id was a phone number overriding the office number; it is
-- now the mode (caller | office) and the number moves to office_number.
ALTER TABLE trunks ADD COLUMN office_number TEXT NOT NULL DEFAULT '';
UPDATE trunks SET office_number = caller_id, caller_id = '' WHERE caller_id NOT IN ('', 'caller', 'office');

ALTER TABLE cdr ADD COLUMN number_sent TEXT NOT NULL DEFAULT '';
ALTER TABLE cdr ADD COLUMN agent TEXT NOT NULL DEFAULT '';
ALTER TABLE cdr ADD COLUMN answered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cdr_legs ADD COLUMN agent TEXT NOT NULL DEFAULT '';
ALTER TABLE cdr_legs ADD COLUMN trunk TEXT NOT NULL DEFAULT '';
ALTER TABLE cdr_legs ADD COLUMN number_sent TEXT NOT NULL DEFAULT '';
