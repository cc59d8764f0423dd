//! bcrypt hashes of accounts moved over from the replaced system (passlib writes
//! `$2b$`; `$2a$` and `$2y$` are the same algorithm under older names): checking them
//! before import and verifying them at login, until the first success re-hashes the
//! password with argon2id.

/// Highest bcrypt cost accepted. Each step doubles the work: passlib's default is 12
/// (a quarter of a second); a planted hash of cost 31 would burn hours of CPU on
/// every login attempt.
pub const MAX_BCRYPT_COST: u32 = 16;

/// Whether `hash` is a bcrypt hash (to be replaced by argon2id at the next login).
pub fn is_legacy_hash(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

/// The cost of a bcrypt hash (`$2b$12$…` → 12).
fn cost(hash: &str) -> Option<u32> {
    hash.get(4..6)?.parse().ok()
}

/// Why a hash from the replaced system cannot be imported, if it cannot: it must be
/// a well-formed bcrypt hash (60 characters) of a sane cost.
pub fn check_legacy_hash(hash: &str) -> Result<(), String> {
    if !is_legacy_hash(hash) {
        return Err("password_hash is not a bcrypt hash ($2a$, $2b$ or $2y$)".into());
    }
    if hash.len() != 60 || !hash.is_ascii() || hash.as_bytes().get(6) != Some(&b'$') {
        return Err("password_hash is not a well-formed bcrypt hash".into());
    }
    match cost(hash) {
        Some(c) if (4..=MAX_BCRYPT_COST).contains(&c) => Ok(()),
        Some(c) => Err(format!(
            "password_hash has bcrypt cost {c}, outside 4 to {MAX_BCRYPT_COST}"
        )),
        None => Err("password_hash is not a well-formed bcrypt hash".into()),
    }
}

/// Whether `password` matches the bcrypt `hash`; a malformed or too costly hash
/// never matches. Slow by design: callers run it on the blocking pool.
pub fn verify(hash: &str, password: &str) -> bool {
    check_legacy_hash(hash).is_ok() && bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test
    use super::*;

    #[test]
    fn every_bcrypt_prefix_verifies_and_hostile_hashes_never_match() {
        let b = bcrypt::hash("old-pass", 4).unwrap();
        assert!(b.starts_with("$2b$04$"), "{b}");
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let h = format!("{prefix}{}", &b[4..]);
            assert!(is_legacy_hash(&h));
            assert!(verify(&h, "old-pass"), "{prefix}");
            assert!(!verify(&h, "wrong"), "{prefix}");
        }
        let costly = format!("$2b$31${}", &b[7..]);
        assert!(check_legacy_hash(&costly).unwrap_err().contains("cost 31"));
        assert!(!verify(&costly, "old-pass"), "never spends 2^31 rounds");
        for bad in [
            "",
            "$2b$",
            "$2x$04$abc",
            "plain",
            "$argon2id$v=19$x",
            "$2b$04$ü",
        ] {
            assert!(!verify(bad, "old-pass"), "{bad:?}");
            assert!(check_legacy_hash(bad).is_err(), "{bad:?}");
        }
    }
}
