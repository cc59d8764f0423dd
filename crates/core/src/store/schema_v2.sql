-- acextream schema, version 2: which guide channel each channel shows.

-- Recomputed after every guide import and channel refresh: for each channel, the
-- XMLTV channel (and the source it comes from) whose programmes it shows.
CREATE TABLE channel_guide (
    channel_id INTEGER PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    source_id  INTEGER NOT NULL REFERENCES epg_sources(id) ON DELETE CASCADE,
    xmltv_id   TEXT NOT NULL,
    -- How it was matched: 'tvg_id' (exact), 'normalized' (case and punctuation
    -- ignored) or 'display_name'.
    matched_by TEXT NOT NULL
);
CREATE INDEX channel_guide_xmltv ON channel_guide(source_id, xmltv_id);
CREATE INDEX epg_programmes_source_channel ON epg_programmes(source_id, xmltv_id, start);
