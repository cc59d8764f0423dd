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
    let Bootstrap::Created(made) = acc.ensure_bootstrap_admin(&admin).await.unwrap() else {
        panic!("created");
    };
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
        matches!(
            acc.ensure_bootstrap_admin(&admin).await.unwrap(),
            Bootstrap::Existing { admins } if admins == ["admin"]
        ),
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
    let Bootstrap::Created(made) = acc.ensure_bootstrap_admin(&admin).await.unwrap() else {
        panic!("created");
    };
    assert!(made.generated_password.is_none());
    assert!(
        acc.login("root", "configured")
            .await
            .unwrap()
            .active()
            .is_some()
    );
}

#[tokio::test]
async fn an_existing_admin_of_another_name_means_no_bootstrap_admin() {
    let (_d, acc) = accounts();
    acc.create(AccountSpec {
        is_admin: true,
        ..spec("boss", "boss-pw")
    })
    .await
    .unwrap();
    let admin = AdminSettings {
        username: "admin".into(),
        password: Some(Secret::new("configured")),
    };
    let outcome = acc.ensure_bootstrap_admin(&admin).await.unwrap();
    assert!(
        matches!(&outcome, Bootstrap::Existing { admins } if admins == &["boss"]),
        "{outcome:?}"
    );
    assert_eq!(
        acc.login("admin", "configured").await.unwrap(),
        Login::Denied,
        "the configured password has no effect"
    );
}

/// A user row as `acextream migrate` writes it: the bcrypt hash of the old system.
async fn legacy_user(acc: &Accounts, name: &str, password: &str) -> String {
    let hash = bcrypt::hash(password, 4).unwrap();
    let new = users::NewUser {
        username: name.into(),
        password_hash: hash.clone(),
        max_connections: 1,
        ..users::NewUser::default()
    };
    acc.store()
        .run(move |c| users::insert(c, &new))
        .await
        .unwrap();
    hash
}

async fn stored_hash(acc: &Accounts, name: &str) -> String {
    let name = name.to_owned();
    acc.store()
        .run(move |c| users::by_name(c, &name))
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

#[tokio::test]
async fn a_bcrypt_account_logs_in_and_is_re_hashed_to_argon2id_on_the_first_success() {
    let (_d, acc) = accounts();
    let bcrypt_hash = legacy_user(&acc, "old", "old-pass").await;
    assert_eq!(acc.login("old", "wrong").await.unwrap(), Login::Denied);
    assert_eq!(
        stored_hash(&acc, "old").await,
        bcrypt_hash,
        "a failed login changes nothing"
    );
    let user = acc
        .login("old", "old-pass")
        .await
        .unwrap()
        .active()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    let stored = stored_hash(&acc, "old").await;
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    // The new hash works on its own, without the cache.
    acc.forget("old");
    assert!(
        acc.login("old", "old-pass")
            .await
            .unwrap()
            .active()
            .is_some()
    );
    assert_eq!(acc.login("old", "wrong").await.unwrap(), Login::Denied);
}

#[tokio::test]
async fn a_re_hash_never_undoes_a_password_change_made_meanwhile() {
    let (_d, acc) = accounts();
    let bcrypt_hash = legacy_user(&acc, "old", "old-pass").await;
    let changed = hash_password("new-pass").unwrap();
    let c2 = changed.clone();
    acc.store()
        .run(move |c| users::set_password_hash(c, "old", &c2))
        .await
        .unwrap();
    let replaced = acc
        .store()
        .run(move |c| {
            let id = users::by_name(c, "old")?.unwrap().id;
            users::replace_password_hash(c, id, &bcrypt_hash, "$argon2id$stale")
        })
        .await
        .unwrap();
    assert!(!replaced);
    assert_eq!(stored_hash(&acc, "old").await, changed);
}

#[tokio::test]
async fn absurd_expiries_are_refused() {
    let (_d, acc) = accounts();
    for bad in [0, -1, MAX_EXPIRES_AT + 1, i64::MAX] {
        let err = acc
            .create(AccountSpec {
                expires_at: Some(bad),
                ..spec("x", "pw")
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("9999-12-31"), "{bad}: {err}");
    }
    acc.create(AccountSpec {
        expires_at: Some(MAX_EXPIRES_AT),
        ..spec("x", "pw")
    })
    .await
    .unwrap();
}
