//! Account creation, credential checks, the cache and the bootstrap admin.

use super::*;
use crate::settings::Secret;

fn accounts() -> (tempfile::TempDir, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    (dir, Accounts::new(store))
}

fn spec(name: &str, pw: &str) -> AccountSpec {
    AccountSpec {
        username: name.into(),
        password: pw.into(),
        max_connections: 2,
        ..AccountSpec::default()
    }
}

#[tokio::test]
async fn a_created_user_logs_in_with_the_right_password_only() {
    let (_d, acc) = accounts();
    let u = acc.create(spec("alice", "s3cret")).await.unwrap();
    assert!(
        u.password_hash.starts_with("$argon2id$"),
        "stored as argon2id"
    );
    assert!(!u.password_hash.contains("s3cret"));
    assert!(matches!(
        acc.login("alice", "s3cret").await.unwrap(),
        Login::Active(_)
    ));
    assert_eq!(acc.login("alice", "wrong").await.unwrap(), Login::Denied);
    assert_eq!(acc.login("bob", "s3cret").await.unwrap(), Login::Denied);
    assert_eq!(acc.login("alice", "").await.unwrap(), Login::Denied);
}

#[tokio::test]
async fn a_password_change_invalidates_the_cached_login_at_once() {
    let (_d, acc) = accounts();
    acc.create(spec("alice", "old-pass")).await.unwrap();
    assert!(
        acc.login("alice", "old-pass")
            .await
            .unwrap()
            .active()
            .is_some()
    );
    acc.set_password("alice", "new-pass").await.unwrap();
    assert_eq!(acc.login("alice", "old-pass").await.unwrap(), Login::Denied);
    assert!(
        acc.login("alice", "new-pass")
            .await
            .unwrap()
            .active()
            .is_some()
    );
}

#[tokio::test]
async fn a_removed_user_can_no_longer_log_in_even_when_cached() {
    let (_d, acc) = accounts();
    acc.create(spec("alice", "pw")).await.unwrap();
    assert!(acc.login("alice", "pw").await.unwrap().active().is_some());
    acc.remove("alice").await.unwrap();
    assert_eq!(acc.login("alice", "pw").await.unwrap(), Login::Denied);
    assert!(matches!(
        acc.remove("alice").await,
        Err(AccountError::Store(StoreError::NotFound(_)))
    ));
}

#[tokio::test]
async fn disabled_and_expired_accounts_are_told_apart() {
    let (_d, acc) = accounts();
    acc.create(AccountSpec {
        expires_at: Some(now_epoch() - 10),
        ..spec("old", "pw")
    })
    .await
    .unwrap();
    assert!(matches!(
        acc.login("old", "pw").await.unwrap(),
        Login::Expired(_)
    ));
    acc.create(spec("off", "pw")).await.unwrap();
    acc.store()
        .run(|c| Ok(c.execute("UPDATE users SET enabled = 0 WHERE username = 'off'", [])?))
        .await
        .unwrap();
    acc.forget("off");
    assert!(matches!(
        acc.login("off", "pw").await.unwrap(),
        Login::Disabled(_)
    ));
}

#[tokio::test]
async fn duplicate_and_hostile_names_are_refused_with_a_reason() {
    let (_d, acc) = accounts();
    acc.create(spec("alice", "pw")).await.unwrap();
    let dup = acc.create(spec("alice", "pw2")).await.unwrap_err();
    assert!(dup.to_string().contains("already exists"), "{dup}");
    for bad in ["", "a/b", "a b", "x?y", "api", "a%20"] {
        let err = acc.create(spec(bad, "pw")).await.unwrap_err();
        assert!(matches!(err, AccountError::Invalid(_)), "{bad:?}: {err}");
    }
    let err = acc.create(spec("carol", "p/w")).await.unwrap_err();
    assert!(err.to_string().contains("password"), "{err}");
}

#[tokio::test]
async fn bootstrap_admin_is_created_once_with_a_generated_password() {
    let (_d, acc) = accounts();
    let admin = AdminSettings::default();
    let made = acc
        .ensure_bootstrap_admin(&admin)
        .await
        .unwrap()
        .expect("created");
    let pw = made.generated_password.expect("generated");
    assert_eq!(pw.len(), 20);
    let login = acc
        .login("admin", &pw)
        .await
        .unwrap()
        .active()
        .expect("admin logs in");
    assert!(login.is_admin);
    assert!(
        acc.ensure_bootstrap_admin(&admin).await.unwrap().is_none(),
        "only once"
    );
}

#[tokio::test]
async fn bootstrap_admin_uses_the_configured_password() {
    let (_d, acc) = accounts();
    let admin = AdminSettings {
        username: "root".into(),
        password: Some(Secret::new("configured")),
    };
    let made = acc
        .ensure_bootstrap_admin(&admin)
        .await
        .unwrap()
        .expect("created");
    assert!(made.generated_password.is_none());
    assert!(
        acc.login("root", "configured")
            .await
            .unwrap()
            .active()
            .is_some()
    );
}
