#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

use std::time::Duration;

use url::Url;

use super::*;

fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn every_editable_key_round_trips_its_default() {
    let defaults = Settings::default();
    for def in EDITABLE {
        let value = get(&defaults, def.key).unwrap_or_else(|| panic!("{} is readable", def.key));
        let mut s = Settings::default();
        set(&mut s, def.key, &value).unwrap_or_else(|e| panic!("{}: {e}", def.key));
        assert_eq!(s, defaults, "{}", def.key);
        assert!(
            !READ_ONLY.iter().any(|(k, _)| *k == def.key),
            "{} listed twice",
            def.key
        );
    }
}

#[test]
fn read_only_and_unknown_keys_are_told_apart() {
    let mut s = Settings::default();
    assert_eq!(
        set(&mut s, "server.bind", &json!("0.0.0.0:1")),
        Err(SettingError::ReadOnly("server.bind".into()))
    );
    assert_eq!(
        set(&mut s, "server.nope", &json!(1)),
        Err(SettingError::Unknown("server.nope".into()))
    );
    for (key, _) in READ_ONLY {
        assert!(get(&s, key).is_some(), "{key} exists in the settings tree");
    }
}

#[test]
fn values_are_validated_by_type_and_range_naming_the_key() {
    let mut s = Settings::default();
    let bad = [
        ("epg.days_ahead", json!(0)),
        ("epg.days_ahead", json!(31)),
        ("epg.days_back", json!("2")),
        ("mux.max_reopens", json!(-1)),
        ("mux.max_client_lag_bytes", json!(100)),
        ("mux.stall_timeout", json!("0s")),
        ("mux.stall_timeout", json!("eleven")),
        ("sources.check_interval", json!("5s")),
        ("server.timezone", json!("Mars/Olympus")),
        ("server.public_url", json!("ftp://x")),
        ("server.trust_forwarded_headers", json!("yes")),
        ("log.level", json!("debug")),
    ];
    for (key, value) in bad {
        let err = set(&mut s, key, &value).expect_err(&format!("{key} = {value}"));
        assert!(err.to_string().starts_with(key), "{err}");
    }
    assert_eq!(s, Settings::default(), "refused values change nothing");

    set(&mut s, "sources.check_interval", &json!("0s")).unwrap();
    set(&mut s, "mux.idle_grace", &json!(30)).unwrap();
    set(
        &mut s,
        "server.public_url",
        &json!("https://tv.example.org:8443"),
    )
    .unwrap();
    assert_eq!(s.sources.check_interval, Duration::ZERO);
    assert_eq!(s.mux.idle_grace, Duration::from_secs(30));
    assert_eq!(
        s.server.public_url.as_ref().map(Url::as_str),
        Some("https://tv.example.org:8443/")
    );
    set(&mut s, "server.public_url", &json!("")).unwrap();
    assert_eq!(s.server.public_url, None);
}

#[test]
fn values_are_normalised_for_storage() {
    assert_eq!(
        normalize("mux.idle_grace", &json!(90)).unwrap(),
        json!("1m 30s")
    );
    assert_eq!(
        normalize("epg.refresh_interval", &json!(" 6h ")).unwrap(),
        json!("6h")
    );
    assert_eq!(
        normalize("server.public_url", &json!("")).unwrap(),
        Value::Null
    );
    assert_eq!(normalize("epg.days_back", &json!(3)).unwrap(), json!(3));
}

#[test]
fn apply_lays_the_database_over_the_file_but_not_over_the_environment() {
    let mut s = Settings::from_toml("[epg]\ndays_ahead = 5\ndays_back = 2\n").unwrap();
    let env: BTreeSet<String> = ["epg.days_back".to_owned()].into();
    let persisted = rows(&[
        ("epg.days_ahead", "9"),
        ("epg.days_back", "4"),
        ("mux.stall_timeout", "\"20s\""),
        ("server.bind", "\"0.0.0.0:1\""),
        ("epg.refresh_interval", "\"1s\""),
        ("log.level", "not json"),
    ]);
    let applied = apply(&mut s, &persisted, &env);
    assert_eq!(s.epg.days_ahead, 9, "database beats the file");
    assert_eq!(s.epg.days_back, 2, "the environment beats the database");
    assert_eq!(s.mux.stall_timeout, Duration::from_secs(20));
    assert_eq!(
        s.epg.refresh_interval,
        Settings::default().epg.refresh_interval
    );
    assert_eq!(
        applied.from_database,
        vec!["epg.days_ahead", "mux.stall_timeout"]
    );
    assert_eq!(applied.overridden_by_env, vec!["epg.days_back"]);
    let rejected: Vec<&str> = applied.rejected.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        rejected,
        vec!["server.bind", "epg.refresh_interval", "log.level"]
    );
    s.validate().unwrap();
}

#[test]
fn environment_names_map_to_keys_and_back() {
    let vars = [
        ("ACEXTREAM_EPG__DAYS_AHEAD", "5"),
        ("ACEXTREAM_CONFIG", "x.toml"),
        ("ACEXTREAM_SERVER__PUBLIC_URL", "http://x"),
        ("PATH", "/bin"),
    ];
    let keys = env_keys(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    assert_eq!(
        keys,
        ["epg.days_ahead".to_owned(), "server.public_url".to_owned()].into()
    );
    assert_eq!(env_name("epg.days_ahead"), "ACEXTREAM_EPG__DAYS_AHEAD");
}

#[test]
fn the_source_of_a_value_follows_precedence() {
    let p = Provenance {
        base: Settings::from_toml("[epg]\ndays_ahead = 5\n").unwrap(),
        env_keys: ["epg.days_back".to_owned()].into(),
    };
    assert_eq!(p.source("epg.days_back", true), Source::Env);
    assert_eq!(p.source("epg.days_ahead", true), Source::Database);
    assert_eq!(p.source("epg.days_ahead", false), Source::File);
    assert_eq!(p.source("mux.max_reopens", false), Source::Default);
}

#[test]
fn the_settings_table_stores_replaces_and_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
    store
        .run_blocking(|c| {
            save(c, "epg.days_ahead", &json!(3))?;
            save(c, "epg.days_ahead", &json!(4))?;
            save(c, "mux.idle_grace", &json!("5s"))?;
            // Bookkeeping rows of other modules share the table; they are not settings.
            c.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('seeded', '1', 0)",
                [],
            )?;
            assert_eq!(
                load(c)?,
                rows(&[("epg.days_ahead", "4"), ("mux.idle_grace", "\"5s\"")])
            );
            assert!(remove(c, "epg.days_ahead")?);
            assert!(!remove(c, "epg.days_ahead")?);
            assert_eq!(load(c)?.len(), 1);
            Ok(())
        })
        .unwrap();
}
