-- 0014: skills and routing by the caller (issue 14 parts 7 and 8). Skill
-- sets, widening steps, IVR caller routes and caller lists are small maps
-- and lists read and written whole with their object, so each is one JSON
-- column ('' : none) rather than tables of its own.
ALTER TABLE system ADD COLUMN caller_lists TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN skills TEXT NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN skills TEXT NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN skill_widening TEXT NOT NULL DEFAULT '';
ALTER TABLE ivrs ADD COLUMN option_skills TEXT NOT NULL DEFAULT '';
ALTER TABLE ivrs ADD COLUMN callers TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound_routes ADD COLUMN caller TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound_routes ADD COLUMN skills TEXT NOT NULL DEFAULT '';
