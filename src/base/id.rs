//! Identifiers: 64-hex random ids like Docker's, and validation of user-chosen names.

use std::fs::File;
use std::io::Read;

/// 32 random bytes from the kernel as 64 lowercase hex characters.
pub fn random_hex_id() -> String {
    let mut b = [0u8; 32];
    // /dev/urandom never blocks once the pool is initialised; fall back to time+pid if absent
    // (an initramfs without /dev populated): ids must still be unique on this host.
    if File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut x = seed ^ ((std::process::id() as u128) << 64);
        for v in b.iter_mut() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = (x >> 64) as u8;
        }
    }
    hex(&b)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Container ids for the runc role: runc accepts `^[\w+-\.]+$`.
pub fn valid_container_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_+-.".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ids_are_64_hex_and_differ() {
        let a = random_hex_id();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_hex_id());
    }
    #[test]
    fn container_id_rules() {
        assert!(valid_container_id("web-1.a_b+c"));
        assert!(!valid_container_id("../x"));
        assert!(!valid_container_id(""));
        assert!(!valid_container_id(".."));
    }
}
