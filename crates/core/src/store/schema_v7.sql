-- v7: catch-up. A channel is recorded when it, or its category, is marked for
-- archive with a depth in days. A channel's own row wins over its category's;
-- days = 0 on a channel keeps it out of an archived category.
CREATE TABLE archive_channels (
    channel_id INTEGER PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    days       INTEGER NOT NULL CHECK (days BETWEEN 0 AND 3650)
);
CREATE TABLE archive_categories (
    category_id INTEGER PRIMARY KEY REFERENCES categories(id) ON DELETE CASCADE,
    days        INTEGER NOT NULL CHECK (days BETWEEN 1 AND 3650)
);
