//! Container names: validation (Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`) and the random
//! `adjective_surname` names given to containers created without `--name`.
//!
//! The word lists are berth's own (adjectives, and surnames of scientists and engineers);
//! Docker's format is kept because scripts split on the underscore.

use crate::base::{Error, Result};

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ample", "ardent", "astute", "bold", "brave", "breezy", "bright", "brisk",
    "calm", "candid", "careful", "cheerful", "clever", "cosmic", "crisp", "curious", "daring",
    "dazzling", "deft", "devoted", "diligent", "eager", "earnest", "elated", "elegant", "epic",
    "fearless", "fervent", "festive", "fluent", "focused", "frank", "gallant", "gentle", "gifted",
    "glad", "gleaming", "graceful", "grand", "hardy", "hearty", "honest", "hopeful", "humble",
    "jolly", "jovial", "keen", "kind", "lively", "loyal", "lucid", "lucky", "merry", "mellow",
    "mighty", "modest", "nimble", "noble", "patient", "peaceful", "placid", "plucky", "polite",
    "proud", "quick", "quiet", "radiant", "rapid", "resolute", "robust", "rustic", "serene",
    "sharp", "shiny", "silent", "sincere", "sleek", "smart", "snappy", "solid", "spirited",
    "steady", "stoic", "sturdy", "sunny", "swift", "tender", "thrifty", "tidy", "tranquil",
    "trusty", "upbeat", "valiant", "vibrant", "vivid", "warm", "wise", "witty", "zealous", "zesty",
];

const SURNAMES: &[&str] = &[
    "agnesi",
    "alhazen",
    "ampere",
    "archimedes",
    "avogadro",
    "babbage",
    "bardeen",
    "bernoulli",
    "bohr",
    "boole",
    "born",
    "brahe",
    "cantor",
    "carnot",
    "cauchy",
    "cavendish",
    "chandrasekhar",
    "curie",
    "dalton",
    "darwin",
    "descartes",
    "dijkstra",
    "dirac",
    "doppler",
    "einstein",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "fibonacci",
    "fourier",
    "franklin",
    "galileo",
    "galois",
    "gauss",
    "gibbs",
    "godel",
    "hamilton",
    "hawking",
    "heisenberg",
    "hertz",
    "hilbert",
    "hopper",
    "hubble",
    "huygens",
    "jacobi",
    "joule",
    "kelvin",
    "kepler",
    "knuth",
    "kovalevskaya",
    "lagrange",
    "lamarr",
    "laplace",
    "lavoisier",
    "leibniz",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "mendeleev",
    "michelson",
    "minkowski",
    "mirzakhani",
    "newton",
    "noether",
    "ohm",
    "pascal",
    "pasteur",
    "pauli",
    "planck",
    "poincare",
    "ramanujan",
    "riemann",
    "ritchie",
    "rutherford",
    "sagan",
    "schrodinger",
    "shannon",
    "somerville",
    "stokes",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volta",
    "wallace",
    "watt",
    "wiles",
    "wu",
    "yalow",
    "zuse",
];

fn random_index(n: usize, salt: usize) -> usize {
    let id = crate::base::id::random_hex_id();
    let v = u64::from_str_radix(&id[salt * 8..salt * 8 + 8], 16).unwrap_or(0);
    (v % n as u64) as usize
}

/// A random `adjective_surname`; after a collision (`retry` > 0) a digit is appended, as
/// Docker does.
pub fn random_name(retry: usize) -> String {
    let name = format!(
        "{}_{}",
        ADJECTIVES[random_index(ADJECTIVES.len(), 0)],
        SURNAMES[random_index(SURNAMES.len(), 1)]
    );
    if retry > 0 {
        format!("{name}{}", random_index(10, 2))
    } else {
        name
    }
}

/// Check a user-chosen name (with or without the leading `/`) and return it with the slash.
pub fn validate(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let ok = bare.len() >= 2
        && bare.as_bytes()[0].is_ascii_alphanumeric()
        && bare
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if !ok {
        return Err(Error::invalid(format!(
            "Invalid container name ({bare}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    Ok(format!("/{bare}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_names_have_dockers_shape() {
        for i in 0..50 {
            let n = random_name(i % 2);
            let (a, b) = n.split_once('_').unwrap();
            assert!(ADJECTIVES.contains(&a), "{n}");
            assert!(SURNAMES.iter().any(|s| b.starts_with(s)), "{n}");
            assert!(validate(&n).is_ok());
        }
    }

    #[test]
    fn validation() {
        assert_eq!(validate("web").unwrap(), "/web");
        assert_eq!(validate("/web-1.a_b").unwrap(), "/web-1.a_b");
        assert!(validate("a").is_err());
        assert!(validate("-x").is_err());
        assert_eq!(
            validate("bad name").unwrap_err().to_string(),
            "Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        );
    }
}
