//! Reading the replaced system's SQLite file, read-only. Its schema came from
//! SQLAlchemy `create_all` without migrations, so old files lack columns: each table
//! is read with the columns it has (`PRAGMA table_info`), a missing one reads as
//! NULL and the mapping defaults it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::MigrateError;

/// One row: its `id` and the columns this file has.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The row's `id`, when it has one.
    pub id: Option<i64>,
    cols: HashMap<&'static str, Value>,
}

impl Row {
    /// The value of `col`; NULL when the file has no such column.
    pub fn get(&self, col: &str) -> &Value {
        self.cols.get(col).unwrap_or(&Value::Null)
    }
}

/// Columns read from each table; anything else in the file is ignored.
pub const TABLES: &[(&str, &[&str])] = &[
    (
        "users",
        &[
            "username",
            "password_hash",
            "email",
            "is_active",
            "is_admin",
            "is_trial",
            "max_connections",
            "allowed_output_formats",
            "created_at",
            "expiry_date",
            "last_login",
            "notes",
        ],
    ),
    (
        "categories",
        &[
            "name",
            "description",
            "parent_id",
            "display_order",
            "icon_url",
        ],
    ),
    (
        "channels",
        &[
            "name",
            "acestream_id",
            "stream_url",
            "category_id",
            "logo_url",
            "epg_id",
            "language",
            "country",
            "description",
            "is_active",
            "is_online",
            "last_checked",
            "display_order",
            "created_at",
        ],
    ),
    ("scraper_urls", &["url", "is_enabled", "scraper_type"]),
    ("epg_sources", &["url", "is_enabled"]),
    ("settings", &["key", "value", "description"]),
];

/// Columns read only to say, in the summary, how many rows had a value acextream
/// has no place for. The rest of the columns above have a counterpart; status columns
/// (`last_error`, `last_scraped`, counts) are not read: the next refresh rewrites them.
pub const NO_COUNTERPART: &[(&str, &str)] = &[
    ("users", "email"),
    ("users", "allowed_output_formats"),
    ("users", "last_login"),
    ("categories", "description"),
    ("categories", "parent_id"),
    ("categories", "icon_url"),
    ("channels", "language"),
    ("channels", "country"),
    ("channels", "description"),
    ("settings", "description"),
];

/// Everything read from the old file.
#[derive(Debug, Default)]
pub struct LegacyDb {
    /// Rows of each table, by table name, in `id` order.
    pub tables: BTreeMap<&'static str, Vec<Row>>,
    /// Tables the file does not have.
    pub missing_tables: Vec<&'static str>,
    /// Expected columns the file's tables do not have (`table.column`).
    pub missing_columns: Vec<String>,
}

impl LegacyDb {
    /// The rows of `table` (none when the file lacks it).
    pub fn rows(&self, table: &str) -> &[Row] {
        self.tables
            .get(table)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// Reads `path`, opened read-only: the old file is never written.
pub fn read(path: &Path) -> Result<LegacyDb, MigrateError> {
    if !path.is_file() {
        return Err(MigrateError::NotFound(path.to_path_buf()));
    }
    let sql_err = |e: rusqlite::Error| MigrateError::Legacy {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    let present: Vec<String> = {
        let mut st = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .map_err(sql_err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(sql_err)?;
        rows.collect::<Result<_, _>>().map_err(sql_err)?
    };
    // An acextream database has `channel_sources`; the replaced system never had it.
    if present.iter().any(|t| t == "channel_sources") {
        return Err(MigrateError::NotLegacy(format!(
            "{} is an acextream database, not the replaced system's",
            path.display()
        )));
    }
    let known = [
        "users",
        "channels",
        "categories",
        "scraper_urls",
        "epg_sources",
    ];
    if !present.iter().any(|t| known.contains(&t.as_str())) {
        return Err(MigrateError::NotLegacy(format!(
            "{} has none of the replaced system's tables (users, channels, categories, \
             scraper_urls, epg_sources)",
            path.display()
        )));
    }
    let mut db = LegacyDb::default();
    for (table, wanted) in TABLES {
        if !present.iter().any(|t| t == table) {
            db.missing_tables.push(table);
            continue;
        }
        let have = columns(&conn, table).map_err(sql_err)?;
        let cols: Vec<&'static str> = wanted
            .iter()
            .copied()
            .filter(|c| {
                let there = have.iter().any(|h| h.eq_ignore_ascii_case(c));
                if !there {
                    db.missing_columns.push(format!("{table}.{c}"));
                }
                there
            })
            .collect();
        let has_id = have.iter().any(|h| h.eq_ignore_ascii_case("id"));
        let id = if has_id { "\"id\"" } else { "NULL" };
        let list: String = std::iter::once(id.to_owned())
            .chain(cols.iter().map(|c| format!("\"{c}\"")))
            .collect::<Vec<_>>()
            .join(", ");
        let order = if has_id { "\"id\"" } else { "rowid" };
        let sql = format!("SELECT {list} FROM \"{table}\" ORDER BY {order}");
        let mut st = conn.prepare(&sql).map_err(sql_err)?;
        let rows = st
            .query_map([], |r| {
                let id = match r.get::<_, Value>(0)? {
                    Value::Integer(n) => Some(n),
                    _ => None,
                };
                let mut map = HashMap::new();
                for (i, c) in cols.iter().enumerate() {
                    map.insert(*c, r.get::<_, Value>(i + 1)?);
                }
                Ok(Row { id, cols: map })
            })
            .map_err(sql_err)?;
        let rows: Vec<Row> = rows.collect::<Result<_, _>>().map_err(sql_err)?;
        db.tables.insert(table, rows);
    }
    Ok(db)
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let rows = st.query_map([], |r| r.get::<_, String>(1))?;
    rows.collect()
}

/// How many rows of each column without a counterpart hold a value, for the summary.
pub fn unmapped_values(db: &LegacyDb) -> Vec<(String, usize)> {
    NO_COUNTERPART
        .iter()
        .filter_map(|(table, col)| {
            let n = db
                .rows(table)
                .iter()
                .filter(|r| match r.get(col) {
                    Value::Null => false,
                    Value::Text(s) => !s.trim().is_empty() && s.trim() != "[]",
                    _ => true,
                })
                .count();
            (n > 0).then(|| (format!("{table}.{col}"), n))
        })
        .collect()
}
