-- acextream schema, version 5: a channel holds an ordered list of links.
--
-- What plays a channel moves from `channels` to `channel_links`: each link is one
-- content id, infohash or direct URL (one stream belongs to one channel), with its
-- place in the channel's order and its health. `link_sources` says which sources
-- list which link; `channel_sources` stays as its summary per channel (a source
-- carries a channel when it lists one of its links).

CREATE TABLE channel_links (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    -- Order within the channel, lowest first (gaps allowed; ties broken by id).
    position        INTEGER NOT NULL DEFAULT 0,
    content_id      TEXT UNIQUE,
    infohash        TEXT UNIQUE,
    direct_url      TEXT UNIQUE,
    -- Added by an admin: refreshes never delete it nor move it.
    manual          INTEGER NOT NULL DEFAULT 0,
    added_at        INTEGER NOT NULL,
    -- Health, from playback: last success, last failure and why, failures in a row.
    last_success_at INTEGER,
    last_failure_at INTEGER,
    last_error      TEXT,
    failures        INTEGER NOT NULL DEFAULT 0,
    -- The availability check's result and when.
    online          INTEGER,
    checked_at      INTEGER,
    CHECK ((content_id IS NOT NULL) + (infohash IS NOT NULL) + (direct_url IS NOT NULL) = 1)
);
CREATE INDEX channel_links_order ON channel_links(channel_id, position);

CREATE TABLE link_sources (
    link_id   INTEGER NOT NULL REFERENCES channel_links(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, source_id)
);
CREATE INDEX link_sources_source ON link_sources(source_id);

-- Each channel's stream becomes its first link. A stream two channels shared (only
-- possible for direct URLs, which had no UNIQUE) stays with the older channel.
INSERT OR IGNORE INTO channel_links
    (channel_id, position, content_id, infohash, direct_url, manual, added_at, online, checked_at)
    SELECT id, 0, content_id,
           CASE WHEN content_id IS NULL THEN infohash END,
           CASE WHEN content_id IS NULL AND infohash IS NULL THEN direct_url END,
           ',' || overrides || ',' LIKE '%,manual,%', added_at, online, checked_at
    FROM channels ORDER BY id;
INSERT INTO link_sources (link_id, source_id)
    SELECT l.id, cs.source_id FROM channel_sources cs
    JOIN channel_links l ON l.channel_id = cs.channel_id;

-- `channels` loses its stream columns: rebuilt (the migration runs with foreign
-- keys off, so dropping the old table cascades nowhere).
CREATE TABLE channels_v5 (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    category_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,
    logo        TEXT NOT NULL DEFAULT '',
    tvg_id      TEXT NOT NULL DEFAULT '',
    chno        INTEGER,
    enabled     INTEGER NOT NULL DEFAULT 1,
    -- 0 when the channel has no link left (never for a manual one).
    active      INTEGER NOT NULL DEFAULT 1,
    -- Comma-separated fields the admin edited; refreshes leave them alone
    -- ("links": the admin ordered the links).
    overrides   TEXT NOT NULL DEFAULT '',
    -- Any link online (kept in step with channel_links by the store).
    online      INTEGER,
    checked_at  INTEGER,
    added_at    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO channels_v5 (id, name, category_id, logo, tvg_id, chno, enabled, active,
                         overrides, online, checked_at, added_at, updated_at)
    SELECT id, name, category_id, logo, tvg_id, chno, enabled, active,
           overrides, online, checked_at, added_at, updated_at FROM channels;
DROP TABLE channels;
ALTER TABLE channels_v5 RENAME TO channels;
CREATE INDEX channels_category ON channels(category_id);
CREATE INDEX channels_name ON channels(name);
-- A refresh merges a source's entries into the channel with the same guide id.
CREATE INDEX channels_tvg_id ON channels(tvg_id);
