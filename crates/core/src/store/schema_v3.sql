-- acextream schema, version 3: guide imports in generations, so an import writes
-- in short batches beside the guide players see and swaps in with one update.
--
-- Each guide source shows one generation of its channels and programmes (its
-- `generation`). An import claims a new one (`staging_generation` counts the
-- claims, so two imports of a source never share one), writes its rows under it in
-- many short transactions, and at the end sets the source's `generation` to it:
-- one row updated, however large the guide. Rows of any other generation are
-- invisible to readers: those of the guide just replaced are deleted in batches
-- after the swap, those of an import that failed or was killed by the next import.

ALTER TABLE epg_sources ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE epg_sources ADD COLUMN staging_generation INTEGER NOT NULL DEFAULT 0;

ALTER TABLE epg_programmes ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
-- Readers and the import's duplicate probe look programmes up by source,
-- generation, channel and start; the cleanup by source and generation. One index
-- serves them all, and the two older ones only slowed the import down.
DROP INDEX epg_programmes_channel;
DROP INDEX epg_programmes_source;
DROP INDEX epg_programmes_source_channel;
CREATE INDEX epg_programmes_live ON epg_programmes(source_id, generation, xmltv_id, start);

-- epg_channels gains the generation in its primary key: rebuilt.
CREATE TABLE epg_channels_v3 (
    source_id    INTEGER NOT NULL REFERENCES epg_sources(id) ON DELETE CASCADE,
    generation   INTEGER NOT NULL DEFAULT 0,
    xmltv_id     TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    icon         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source_id, generation, xmltv_id)
);
INSERT INTO epg_channels_v3 (source_id, generation, xmltv_id, display_name, icon)
    SELECT source_id, 0, xmltv_id, display_name, icon FROM epg_channels;
DROP TABLE epg_channels;
ALTER TABLE epg_channels_v3 RENAME TO epg_channels;

-- A channel refresh looks every listed stream up, in one write transaction; plain
-- http streams had no index, so a list of 10,000 of them scanned the table 10,000
-- times (5 s in a debug build, other writers waiting all along).
CREATE INDEX channels_direct_url ON channels(direct_url);
