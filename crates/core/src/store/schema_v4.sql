-- v4: a programme's description keeps its own `lang` (XMLTV allows it to differ
-- from the title's, and the served guide used to drop it).
ALTER TABLE epg_programmes ADD COLUMN desc_lang TEXT NOT NULL DEFAULT '';
