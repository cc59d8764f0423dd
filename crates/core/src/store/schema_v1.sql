-- acextream schema, version 1. Times are Unix epoch seconds (UTC).

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    is_admin        INTEGER NOT NULL DEFAULT 0,
    is_trial        INTEGER NOT NULL DEFAULT 0,
    max_connections INTEGER NOT NULL DEFAULT 1 CHECK (max_connections >= 0),
    expires_at      INTEGER,
    created_at      INTEGER NOT NULL,
    notes           TEXT NOT NULL DEFAULT ''
);

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    sort_order INTEGER NOT NULL DEFAULT 0
);

-- Playlist sources of channels.
CREATE TABLE sources (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL DEFAULT 'm3u',
    url               TEXT NOT NULL UNIQUE,
    enabled           INTEGER NOT NULL DEFAULT 1,
    refresh_secs      INTEGER,
    etag              TEXT,
    last_modified     TEXT,
    last_attempt_at   INTEGER,
    last_success_at   INTEGER,
    last_error        TEXT,
    channels_found    INTEGER NOT NULL DEFAULT 0,
    channels_new      INTEGER NOT NULL DEFAULT 0,
    channels_updated  INTEGER NOT NULL DEFAULT 0,
    channels_gone     INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    -- Exactly the identifier the engine must be sent: a content id (id=) or a
    -- swarm infohash (infohash=), or a plain HTTP stream for direct channels.
    content_id  TEXT UNIQUE,
    infohash    TEXT UNIQUE,
    direct_url  TEXT,
    category_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,
    logo        TEXT NOT NULL DEFAULT '',
    tvg_id      TEXT NOT NULL DEFAULT '',
    chno        INTEGER,
    enabled     INTEGER NOT NULL DEFAULT 1,
    -- 0 when no source carries the channel any more.
    active      INTEGER NOT NULL DEFAULT 1,
    -- Comma-separated fields the admin edited; refreshes leave them alone.
    overrides   TEXT NOT NULL DEFAULT '',
    online      INTEGER,
    checked_at  INTEGER,
    added_at    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK (content_id IS NOT NULL OR infohash IS NOT NULL OR direct_url IS NOT NULL)
);
CREATE INDEX channels_category ON channels(category_id);
CREATE INDEX channels_name ON channels(name);

-- Which sources carry which channel (a channel may be on several lists).
CREATE TABLE channel_sources (
    channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, source_id)
);

CREATE TABLE epg_sources (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    url              TEXT NOT NULL UNIQUE,
    enabled          INTEGER NOT NULL DEFAULT 1,
    -- Lower wins when two sources cover the same channel.
    priority         INTEGER NOT NULL DEFAULT 0,
    refresh_secs     INTEGER,
    etag             TEXT,
    last_modified    TEXT,
    last_attempt_at  INTEGER,
    last_success_at  INTEGER,
    last_error       TEXT,
    channels_found   INTEGER NOT NULL DEFAULT 0,
    programmes_found INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
);

-- The XMLTV channels a guide source declares (for mapping by display name).
CREATE TABLE epg_channels (
    source_id    INTEGER NOT NULL REFERENCES epg_sources(id) ON DELETE CASCADE,
    xmltv_id     TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    icon         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source_id, xmltv_id)
);

CREATE TABLE epg_programmes (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES epg_sources(id) ON DELETE CASCADE,
    xmltv_id    TEXT NOT NULL,
    start       INTEGER NOT NULL,
    stop        INTEGER NOT NULL,
    title       TEXT NOT NULL,
    sub_title   TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    icon        TEXT NOT NULL DEFAULT '',
    lang        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX epg_programmes_channel ON epg_programmes(xmltv_id, start);
CREATE INDEX epg_programmes_source ON epg_programmes(source_id);

-- Settings edited at runtime from the dashboard (over the file and env).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Dashboard login sessions; only a hash of the cookie token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_expiry ON sessions(expires_at);
