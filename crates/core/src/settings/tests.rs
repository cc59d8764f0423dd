//! Settings layering and every error path, inside figment's `Jail` (a private cwd and env).

#![allow(clippy::result_large_err)] // figment::Error is what Jail returns.

use super::*;
use figment::Jail;

fn load_err(jail_setup: impl FnOnce(&mut Jail) -> figment::error::Result<()>) -> String {
    let mut message = String::new();
    Jail::expect_with(|jail| {
        jail_setup(jail)?;
        message = Settings::load(None)
            .expect_err("settings should fail")
            .to_string()
            .to_lowercase();
        Ok(())
    });
    message
}

#[test]
fn defaults_apply_without_any_file() {
    Jail::expect_with(|_| {
        let s = Settings::load(None).expect("defaults load");
        assert_eq!(s.server.bind.to_string(), "0.0.0.0:58055");
        assert_eq!(s.mux.bind.to_string(), "127.0.0.1:8001");
        assert_eq!(s.database.path, PathBuf::from("data/acextream.db"));
        assert_eq!(s.engine.url.as_str(), "http://127.0.0.1:6878/");
        Ok(())
    });
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/acextream.toml",
            "[server]\nbind = \"127.0.0.1:9000\"\ntimezone = \"Europe/Rome\"\n[mux]\nidle_grace = \"20s\"\n",
        )?;
        let s = Settings::load(None).expect("file loads");
        assert_eq!(s.server.bind.port(), 9000);
        assert_eq!(s.server.timezone, "Europe/Rome");
        assert_eq!(s.mux.idle_grace, Duration::from_secs(20));

        jail.set_env("ACEXTREAM_SERVER__BIND", "127.0.0.1:9100");
        jail.set_env("ACEXTREAM_ENGINE__URL", "http://127.0.0.1:7000");
        let s = Settings::load(None).expect("env loads");
        assert_eq!(s.server.bind.port(), 9100, "env wins over the file");
        assert_eq!(s.engine.url.port(), Some(7000));
        assert_eq!(
            s.server.timezone, "Europe/Rome",
            "file values not overridden stay"
        );
        Ok(())
    });
}

#[test]
fn config_env_names_the_file_and_is_not_a_key() {
    Jail::expect_with(|jail| {
        jail.create_file("other.toml", "[database]\npath = \"/tmp/x.db\"\n")?;
        jail.set_env("ACEXTREAM_CONFIG", "other.toml");
        let s = Settings::load(None).expect("named file loads");
        assert_eq!(s.database.path, PathBuf::from("/tmp/x.db"));
        Ok(())
    });
}

#[test]
fn other_acextream_variables_without_a_section_are_not_settings() {
    Jail::expect_with(|jail| {
        jail.set_env("ACEXTREAM_ADMIN_PASSWORD", "for-a-script");
        jail.set_env("ACEXTREAM_MUX__MAX_REOPENS", "7");
        let s = Settings::load(None).expect("loads");
        assert_eq!(s.mux.max_reopens, 7);
        assert!(s.admin.password.is_none());
        jail.set_env("ACEXTREAM_MUX__MAX_REOPENZ", "7");
        let err = Settings::load(None).expect_err("a typo in a section key fails");
        assert!(
            err.to_string().to_lowercase().contains("max_reopenz"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn explicit_missing_file_is_an_error() {
    let msg = load_err(|jail| {
        jail.set_env("ACEXTREAM_CONFIG", "nope.toml");
        Ok(())
    });
    assert!(
        msg.contains("nope.toml") && msg.contains("does not exist"),
        "{msg}"
    );
}

#[test]
fn unknown_key_names_the_key_and_the_file() {
    let msg = load_err(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/acextream.toml", "[server]\nbindd = \"1.2.3.4:5\"\n")?;
        Ok(())
    });
    assert!(msg.contains("bindd"), "{msg}");
    assert!(msg.contains("acextream.toml"), "{msg}");
}

#[test]
fn unknown_section_is_an_error() {
    let msg = load_err(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/acextream.toml", "[sever]\nbind = \"1.2.3.4:5\"\n")?;
        Ok(())
    });
    assert!(msg.contains("sever"), "{msg}");
}

#[test]
fn port_out_of_range_is_rejected() {
    let msg = load_err(|jail| {
        jail.set_env("ACEXTREAM_SERVER__BIND", "0.0.0.0:99999");
        Ok(())
    });
    assert!(msg.contains("bind"), "{msg}");
}

#[test]
fn bad_url_is_rejected() {
    let msg = load_err(|jail| {
        jail.set_env("ACEXTREAM_ENGINE__URL", "not a url");
        Ok(())
    });
    assert!(msg.contains("url"), "{msg}");
}

#[test]
fn negative_duration_is_rejected() {
    let msg = load_err(|jail| {
        jail.set_env("ACEXTREAM_MUX__IDLE_GRACE", "-5s");
        Ok(())
    });
    assert!(msg.contains("idle_grace"), "{msg}");
}

#[test]
fn unknown_time_zone_is_rejected() {
    let msg = load_err(|jail| {
        jail.set_env("ACEXTREAM_SERVER__TIMEZONE", "Mars/Olympus");
        Ok(())
    });
    assert!(msg.contains("server.timezone"), "{msg}");
}

#[test]
fn printed_settings_mask_the_admin_password() {
    let s = Settings::from_toml("[admin]\npassword = \"hunter2-secret\"\n").expect("loads");
    assert_eq!(
        s.admin.password.as_ref().map(Secret::expose),
        Some("hunter2-secret")
    );
    let printed = s.to_masked_toml();
    assert!(!printed.contains("hunter2-secret"), "{printed}");
    assert!(printed.contains("********"), "{printed}");
    assert!(!format!("{s:?}").contains("hunter2-secret"));
}

#[test]
fn the_shipped_config_file_is_valid_and_equals_the_defaults() {
    let text = include_str!("../../../../config/acextream.toml");
    let shipped = Settings::from_toml(text).expect("config/acextream.toml loads");
    assert_eq!(
        shipped,
        Settings::default(),
        "the documented defaults match the code"
    );
}

#[test]
fn engine_pool_from_the_environment_is_a_comma_separated_list() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "ACEXTREAM_ENGINE__URLS",
            "http://127.0.0.1:7001, http://127.0.0.1:7002",
        );
        jail.set_env("ACEXTREAM_ENGINE__MAX_SESSIONS", "4");
        let s = Settings::load(None).expect("env loads");
        let ports: Vec<_> = s.engine.pool_urls().iter().map(|u| u.port()).collect();
        assert_eq!(ports, vec![Some(7001), Some(7002)]);
        assert_eq!(s.engine.max_sessions, 4);
        Ok(())
    });
}

#[test]
fn engine_pool_from_the_file_is_an_array_and_url_is_the_shorthand() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "pool.toml",
            "[engine]\nurls = [\"http://10.0.0.1:6878\", \"http://10.0.0.2:6878\"]\n",
        )?;
        let s = Settings::load(Some(std::path::Path::new("pool.toml"))).expect("file loads");
        assert_eq!(s.engine.pool_urls().len(), 2);
        let one = Settings::default();
        assert_eq!(one.engine.pool_urls(), vec![one.engine.url.clone()]);
        Ok(())
    });
}

#[test]
fn a_pool_entry_that_is_not_a_url_is_rejected_by_name() {
    let msg = load_err(|jail| {
        jail.set_env("ACEXTREAM_ENGINE__URLS", "http://127.0.0.1:7001,nope");
        Ok(())
    });
    assert!(msg.contains("nope"), "{msg}");
}
