//! Capability names (as the OCI spec writes them) to numbers, and applying the five sets.

use crate::base::Result;
use crate::oci::runtime::Capabilities;
use crate::sys::capability as cap;

/// Capability numbers from linux/capability.h, in order.
const NAMES: &[&str] = crate::oci::runtime::CAPABILITY_NAMES;

/// `CAP_NET_ADMIN` (or `NET_ADMIN`, any case) → 12.
pub fn number(name: &str) -> Option<u32> {
    let up = name.to_ascii_uppercase();
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

pub fn all_names() -> &'static [&'static str] {
    NAMES
}

/// A set of names as a bit mask. Like runc, names this runtime or kernel does not know are
/// ignored with a warning: these are lists of what to keep, so ignoring one only keeps less.
pub fn mask(names: &[String]) -> Result<u64> {
    let last = cap::last_cap();
    let mut m = 0u64;
    for n in names {
        match number(n) {
            Some(c) if c <= last => m |= 1 << c,
            _ => log::warn!("ignoring unknown or unavailable capabilities: [{n}]"),
        }
    }
    Ok(m)
}

/// The five sets resolved to masks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resolved {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

pub fn resolve(c: Option<&Capabilities>) -> Result<Resolved> {
    let m = |s: &Option<Vec<String>>| s.as_deref().map(mask).transpose().map(|x| x.unwrap_or(0));
    match c {
        None => Ok(Resolved::default()),
        Some(c) => Ok(Resolved {
            bounding: m(&c.bounding)?,
            effective: m(&c.effective)?,
            permitted: m(&c.permitted)?,
            inheritable: m(&c.inheritable)?,
            ambient: m(&c.ambient)?,
        }),
    }
}

/// Shrink the bounding set to `keep` (needs CAP_SETPCAP, so before the uid switch).
pub fn apply_bounding(keep: u64) -> Result<()> {
    for c in 0..=cap::last_cap() {
        if keep & (1 << c) == 0 && cap::in_bounding(c) {
            cap::drop_bounding(c).map_err(|e| e.context("apply the capability bounding set"))?;
        }
    }
    Ok(())
}

/// Set effective/permitted/inheritable, then the ambient set. Ambient capabilities must be in
/// both permitted and inheritable; like runc, ones that are not are skipped, not an error
/// (`runc spec`'s default lists ambient capabilities with an empty inheritable set).
pub fn apply_process_sets(r: &Resolved) -> Result<()> {
    cap::set(cap::Sets {
        effective: r.effective,
        permitted: r.permitted,
        inheritable: r.inheritable,
    })
    .map_err(|e| e.context("apply the process capabilities"))?;
    cap::clear_ambient()?;
    for c in 0..64u32 {
        if r.ambient & (1 << c) != 0 && r.permitted & r.inheritable & (1 << c) != 0 {
            cap::raise_ambient(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kernel_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_NET_ADMIN"), Some(12));
        assert_eq!(number("sys_admin"), Some(21));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("CAP_NOPE"), None);
    }

    #[test]
    fn masks_and_unknown_names() {
        let m = mask(&[
            "CAP_KILL".into(),
            "CAP_AUDIT_WRITE".into(),
            "CAP_NET_BIND_SERVICE".into(),
        ])
        .unwrap();
        assert_eq!(
            m, 0x2000_0420,
            "the default set of runc spec, as /proc/self/status shows it"
        );
        assert_eq!(
            mask(&["CAP_FLY".into(), "CAP_KILL".into()]).unwrap(),
            1 << 5,
            "unknown names are ignored"
        );
    }
}
