-- v6: a number of its own for every channel, given once and never changed, so a
-- channel without a source number (`chno`) keeps the same HDHomeRun GuideNumber
-- across refreshes that reorder the source (media servers key channels, guide
-- mappings and recordings by it).
ALTER TABLE channels ADD COLUMN guide_number INTEGER;
-- Existing channels are numbered in playlist order, after every source number.
UPDATE channels SET guide_number = n.number
    FROM (SELECT id,
                 (SELECT COALESCE(MAX(chno), 0) FROM channels)
                     + ROW_NUMBER() OVER (ORDER BY chno IS NULL, chno,
                                          name COLLATE NOCASE, id) AS number
          FROM channels) AS n
    WHERE n.id = channels.id;
CREATE INDEX channels_guide_number ON channels(guide_number);
CREATE INDEX channels_chno ON channels(chno);
-- Every way a channel is created (refresh, admin, migration) gets the next number
-- above every number in use, source numbers included.
CREATE TRIGGER channels_guide_number AFTER INSERT ON channels
    WHEN NEW.guide_number IS NULL
BEGIN
    UPDATE channels SET guide_number = 1 + MAX(
        (SELECT COALESCE(MAX(chno), 0) FROM channels),
        (SELECT COALESCE(MAX(guide_number), 0) FROM channels))
    WHERE id = NEW.id;
END;
