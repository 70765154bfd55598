//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), run on the
//! blocking pool because each hash takes tens of milliseconds of CPU.

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Semaphore;

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Password checks that may run at once: each holds 19 MiB and a core for tens of
/// milliseconds, so a burst of logins must queue rather than fill memory.
fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(2 * cores)
    })
}

/// How long a check waits for a free slot before the attempt is answered "busy".
pub const QUEUE_WAIT: Duration = Duration::from_secs(5);

static CHECKS: AtomicU64 = AtomicU64::new(0);

/// Password checks run since the process started (the `/metrics` counter, and how the
/// login benchmark tells how many attempts reached argon2).
pub fn checks_run() -> u64 {
    CHECKS.load(Ordering::Relaxed)
}

/// [`verify`] within the bound on concurrent checks: `None` when no slot freed up
/// within `wait` (the caller answers "busy" and counts no attempt).
pub async fn verify_bounded(
    password: String,
    stored: Option<String>,
    wait: Duration,
) -> Option<bool> {
    let _permit = tokio::time::timeout(wait, permits().acquire())
        .await
        .ok()?
        .ok()?;
    Some(verify(password, stored).await)
}

/// Checks `password` against `stored`. With `stored = None` (no such user) a dummy hash
/// is checked instead, so that the response time does not tell whether a user exists.
/// Callers on request paths use [`verify_bounded`].
pub async fn verify(password: String, stored: Option<String>) -> bool {
    CHECKS.fetch_add(1, Ordering::Relaxed);
    tokio::task::spawn_blocking(move || {
        let stored = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let mut memory = MEMORY
            .lock()
            .ok()
            .and_then(|mut m| m.pop())
            .unwrap_or_default();
        let ok = verify_in(&mut memory, password.as_bytes(), stored);
        if let Ok(mut pool) = MEMORY.lock() {
            pool.push(memory);
        }
        ok && stored != dummy_hash()
    })
    .await
    .unwrap_or(false)
}

/// argon2's working memory (19 MiB a check), kept for the next check: one buffer per
/// check that ran at once, at most. Allocating it afresh each time left the freed
/// buffers in the allocator's per-thread arenas: 400 logins held 790 MiB.
static MEMORY: std::sync::Mutex<Vec<Vec<Block>>> = std::sync::Mutex::new(Vec::new());

/// Checks `password` against the PHC string `stored` (its algorithm, version, cost
/// parameters and salt), in `memory`. The comparison is constant-time.
fn verify_in(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    memory.resize(params.block_count(), Block::default());
    let mut out = vec![0u8; expected.len()];
    if Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..])
        .is_err()
    {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("coastguard-no-such-user").unwrap_or_default())
}

/// A random password for the first admin when none is configured: 20 characters from
/// an alphabet without look-alikes (~116 bits).
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await);
        assert!(!verify("correct horse batterY".into(), Some(stored)).await);
    }

    #[test]
    fn verifies_hashes_made_with_other_parameters_and_reuses_memory() {
        // A hash made elsewhere with other costs (argon2id, m=4096, t=3, p=1) verifies,
        // in memory sized for it; the same buffer then serves the default costs.
        let params = Params::new(4096, 3, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"s3cret phrase", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(verify_in(&mut memory, b"s3cret phrase", &other));
        assert_eq!(memory.len(), 4096);
        assert!(!verify_in(&mut memory, b"s3cret phrasE", &other));
        let default = hash_blocking("another phrase").unwrap();
        assert!(verify_in(&mut memory, b"another phrase", &default));
        assert_eq!(memory.len(), Params::DEFAULT.block_count());
        for bad in ["", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA", "plain text"] {
            assert!(!verify_in(&mut memory, b"x", bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify("coastguard-no-such-user".into(), None).await);
        assert!(!verify("anything".into(), None).await);
    }

    #[tokio::test]
    async fn checks_queue_for_a_slot_and_give_up_after_the_wait() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        // Hold every slot: a check then waits, and gives up after its wait.
        let held = permits()
            .acquire_many(permits().available_permits() as u32)
            .await
            .unwrap();
        let busy = verify_bounded(
            "correct horse battery".into(),
            Some(stored.clone()),
            Duration::from_millis(50),
        )
        .await;
        assert_eq!(busy, None);
        drop(held);
        let ok = verify_bounded(
            "correct horse battery".into(),
            Some(stored),
            Duration::from_millis(50),
        )
        .await;
        assert_eq!(ok, Some(true));
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(coastguard_model::validate::password(&a).is_ok());
    }
}
