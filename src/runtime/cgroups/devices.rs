//! Device access rules: the spec's `linux.resources.devices` list, evaluated with cgroup v1's
//! semantics on both versions.
//!
//! The list is applied in order to a state that starts as "deny everything" (runc does the same,
//! and appends the devices every container gets; see [`default_rules`]). A state is a default
//! (allow or deny) plus exceptions that do the opposite; a rule equal to the default removes
//! access bits from an identical exception, a rule opposite to it adds an exception. Wildcard
//! exceptions are never split ("c *:* m" minus "c 1:3 m" stays "c *:* m"), as in the v1 kernel.
//! On v1 the state is written to devices.allow/devices.deny with the fewest writes that never
//! opens more than the target; on v2 it becomes an eBPF program (see `ebpf.rs`).

use crate::base::{Error, Result};
use crate::oci::runtime::DeviceCgroup;

/// Access bits, numbered as the kernel's BPF_DEVCG_ACC_* so the eBPF program can use them as is.
pub const ACC_MKNOD: u8 = 1;
pub const ACC_READ: u8 = 2;
pub const ACC_WRITE: u8 = 4;
pub const ACC_ALL: u8 = 7;

/// One rule of the list. `kind` is 'a' (all), 'c' or 'b'; -1 is the `*` wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub kind: char,
    pub major: i64,
    pub minor: i64,
    pub access: u8,
}

/// An exception to the default: always a concrete type ('c' or 'b').
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Exception {
    pub kind: char,
    pub major: i64,
    pub minor: i64,
    pub access: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    pub default_allow: bool,
    pub exceptions: Vec<Exception>,
}

impl DeviceState {
    pub fn deny_all() -> DeviceState {
        DeviceState {
            default_allow: false,
            exceptions: Vec::new(),
        }
    }

    /// The state after the whole list (starting from deny-all).
    pub fn from_rules(rules: &[Rule]) -> DeviceState {
        let mut s = DeviceState::deny_all();
        for r in rules {
            s.apply(r);
        }
        s
    }

    pub fn apply(&mut self, r: &Rule) {
        if r.kind == 'a' {
            self.default_allow = r.allow;
            self.exceptions.clear();
            return;
        }
        let same = |e: &Exception| e.kind == r.kind && e.major == r.major && e.minor == r.minor;
        if r.allow == self.default_allow {
            for e in self.exceptions.iter_mut().filter(|e| same(e)) {
                e.access &= !r.access;
            }
            self.exceptions.retain(|e| e.access != 0);
        } else if let Some(e) = self.exceptions.iter_mut().find(|e| same(e)) {
            e.access |= r.access;
        } else {
            self.exceptions.push(Exception {
                kind: r.kind,
                major: r.major,
                minor: r.minor,
                access: r.access,
            });
        }
    }

    /// Whether an access (`access` bits, possibly several) to a device is allowed: with a deny
    /// default an allow exception must cover all the bits; with an allow default any deny
    /// exception sharing a bit refuses (the v1 kernel's two matching rules).
    pub fn allows(&self, kind: char, major: i64, minor: i64, access: u8) -> bool {
        let hit = |e: &&Exception| {
            e.kind == kind
                && (e.major == -1 || e.major == major)
                && (e.minor == -1 || e.minor == minor)
        };
        if self.default_allow {
            !self
                .exceptions
                .iter()
                .filter(hit)
                .any(|e| e.access & access != 0)
        } else {
            self.exceptions
                .iter()
                .filter(hit)
                .any(|e| e.access & access == access)
        }
    }

    /// What devices.list shows for this state. In allow mode the kernel lists only `a *:* rwm`
    /// (deny exceptions are invisible), so a parsed allow-mode state has no exceptions.
    pub fn parse_v1_list(text: &str) -> Result<DeviceState> {
        let mut s = DeviceState::deny_all();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let r = parse_line(line, true)?;
            if r.kind == 'a' {
                return Ok(DeviceState {
                    default_allow: true,
                    exceptions: Vec::new(),
                });
            }
            s.apply(&r);
        }
        Ok(s)
    }

    /// The (file, line) writes that take a v1 devices cgroup from `current` (as devices.list shows
    /// it) to `self`. In deny mode new allowances go first and removals after, so a running
    /// container never loses a device it keeps.
    pub fn v1_transition(&self, current: &DeviceState) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.default_allow {
            // Deny exceptions of an allow-mode cgroup cannot be read back: always rebuild.
            out.push(("devices.allow", "a".to_string()));
            for e in &self.exceptions {
                out.push(("devices.deny", e.line(e.access)));
            }
            return out;
        }
        if current.default_allow {
            out.push(("devices.deny", "a".to_string()));
            for e in &self.exceptions {
                out.push(("devices.allow", e.line(e.access)));
            }
            return out;
        }
        let find = |list: &[Exception], e: &Exception| {
            list.iter()
                .find(|x| x.kind == e.kind && x.major == e.major && x.minor == e.minor)
                .map(|x| x.access)
                .unwrap_or(0)
        };
        for e in &self.exceptions {
            let missing = e.access & !find(&current.exceptions, e);
            if missing != 0 {
                out.push(("devices.allow", e.line(missing)));
            }
        }
        for e in &current.exceptions {
            let extra = e.access & !find(&self.exceptions, e);
            if extra != 0 {
                out.push(("devices.deny", e.line(extra)));
            }
        }
        out
    }
}

impl Exception {
    fn line(&self, access: u8) -> String {
        let num = |n: i64| {
            if n < 0 {
                "*".to_string()
            } else {
                n.to_string()
            }
        };
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            access_string(access)
        )
    }
}

pub fn access_string(a: u8) -> String {
    let mut s = String::new();
    if a & ACC_READ != 0 {
        s.push('r');
    }
    if a & ACC_WRITE != 0 {
        s.push('w');
    }
    if a & ACC_MKNOD != 0 {
        s.push('m');
    }
    s
}

fn parse_access(s: &str) -> Result<u8> {
    if s.is_empty() {
        return Err(Error::invalid("device access cannot be empty"));
    }
    let mut a = 0;
    for c in s.chars() {
        a |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => {
                return Err(Error::invalid(format!(
                    "invalid device access {s:?}: only r, w and m are allowed"
                )))
            }
        };
    }
    Ok(a)
}

/// One devices.list line ("c 1:3 rwm", "a *:* rwm").
fn parse_line(line: &str, allow: bool) -> Result<Rule> {
    let bad = || Error::invalid(format!("cannot parse devices.list line {line:?}"));
    let mut f = line.split_whitespace();
    let kind = f.next().and_then(|k| k.chars().next()).ok_or_else(bad)?;
    let (maj, min) = f.next().and_then(|n| n.split_once(':')).ok_or_else(bad)?;
    let num = |s: &str| {
        if s == "*" {
            Ok(-1)
        } else {
            s.parse::<i64>().map_err(|_| bad())
        }
    };
    let access = parse_access(f.next().ok_or_else(bad)?)?;
    Ok(Rule {
        allow,
        kind,
        major: num(maj)?,
        minor: num(min)?,
        access,
    })
}

/// The spec's rules, validated. A type-'a' rule is the whole-list reset only when it covers every
/// device and access (`a *:* rwm`); a narrower one stands for the same rule on 'c' and on 'b'.
pub fn rules_from_spec(list: &[DeviceCgroup]) -> Result<Vec<Rule>> {
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let ctx = |e: Error| e.context(format!("linux.resources.devices[{i}]"));
        let kind = match d.kind.as_deref().unwrap_or("a") {
            "" | "a" => 'a',
            "c" => 'c',
            "b" => 'b',
            other => {
                return Err(ctx(Error::invalid(format!(
                    "invalid device type {other:?}: must be a, b or c"
                ))))
            }
        };
        let access = parse_access(d.access.as_deref().unwrap_or("")).map_err(ctx)?;
        let (major, minor) = (d.major.unwrap_or(-1), d.minor.unwrap_or(-1));
        for n in [major, minor] {
            if n < -1 || n > u32::MAX as i64 {
                return Err(ctx(Error::invalid(format!("invalid device number {n}"))));
            }
        }
        let rule = Rule {
            allow: d.allow,
            kind,
            major,
            minor,
            access,
        };
        if kind == 'a' && !(major == -1 && minor == -1 && access == ACC_ALL) {
            out.push(Rule { kind: 'c', ..rule });
            out.push(Rule { kind: 'b', ..rule });
        } else {
            out.push(rule);
        }
    }
    Ok(out)
}

/// The devices every container can use, appended after the spec's rules as runc does: mknod of
/// any device, /dev/null, random, full, tty, zero, urandom, /dev/pts/*, /dev/ptmx, /dev/net/tun.
pub fn default_rules() -> Vec<Rule> {
    let c = |major, minor, access| Rule {
        allow: true,
        kind: 'c',
        major,
        minor,
        access,
    };
    vec![
        c(-1, -1, ACC_MKNOD),
        Rule {
            allow: true,
            kind: 'b',
            major: -1,
            minor: -1,
            access: ACC_MKNOD,
        },
        c(1, 3, ACC_ALL),
        c(1, 8, ACC_ALL),
        c(1, 7, ACC_ALL),
        c(5, 0, ACC_ALL),
        c(1, 5, ACC_ALL),
        c(1, 9, ACC_ALL),
        c(136, -1, ACC_ALL),
        c(5, 2, ACC_ALL),
        c(10, 200, ACC_ALL),
    ]
}

/// The state a container's cgroup gets from the spec's list.
pub fn target_state(list: &[DeviceCgroup]) -> Result<DeviceState> {
    let mut rules = rules_from_spec(list)?;
    rules.extend(default_rules());
    Ok(DeviceState::from_rules(&rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(
        allow: bool,
        kind: Option<&str>,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceCgroup {
        DeviceCgroup {
            allow,
            kind: kind.map(Into::into),
            major,
            minor,
            access: Some(access.into()),
        }
    }

    #[test]
    fn docker_style_list_denies_all_but_defaults_and_listed() {
        let list = vec![
            dc(false, None, None, None, "rwm"),
            dc(true, Some("c"), Some(4), Some(1), "rw"),
        ];
        let s = target_state(&list).unwrap();
        assert!(!s.default_allow);
        assert!(s.allows('c', 1, 3, ACC_READ | ACC_WRITE)); // /dev/null
        assert!(s.allows('c', 136, 7, ACC_WRITE)); // a pty
        assert!(s.allows('c', 4, 1, ACC_READ));
        // One exception must cover every bit asked for at once (v1's rule).
        assert!(!s.allows('c', 4, 1, ACC_MKNOD | ACC_READ));
        assert!(s.allows('b', 8, 0, ACC_MKNOD)); // mknod of anything
        assert!(!s.allows('b', 8, 0, ACC_READ));
        assert!(!s.allows('c', 10, 229, ACC_READ)); // /dev/fuse not listed
    }

    #[test]
    fn empty_list_still_restricts_to_defaults_like_runc() {
        let s = target_state(&[]).unwrap();
        assert!(!s.default_allow);
        assert!(s.allows('c', 1, 9, ACC_READ));
        assert!(!s.allows('b', 8, 0, ACC_READ));
    }

    #[test]
    fn allow_all_then_deny_one() {
        let list = vec![
            dc(true, Some("a"), None, None, "rwm"),
            dc(false, Some("c"), Some(1), Some(3), "w"),
        ];
        let s = DeviceState::from_rules(&rules_from_spec(&list).unwrap());
        assert!(s.default_allow);
        assert!(s.allows('c', 1, 3, ACC_READ));
        assert!(!s.allows('c', 1, 3, ACC_WRITE));
        assert!(!s.allows('c', 1, 3, ACC_READ | ACC_WRITE)); // any shared bit refuses
        assert!(s.allows('b', 8, 0, ACC_ALL));
        assert_eq!(
            s.v1_transition(&DeviceState::deny_all()),
            vec![
                ("devices.allow", "a".into()),
                ("devices.deny", "c 1:3 w".into())
            ]
        );
    }

    #[test]
    fn removal_narrows_exact_exceptions_only() {
        let rules = vec![
            Rule {
                allow: true,
                kind: 'c',
                major: -1,
                minor: -1,
                access: ACC_MKNOD,
            },
            Rule {
                allow: true,
                kind: 'c',
                major: 1,
                minor: 3,
                access: ACC_ALL,
            },
            Rule {
                allow: false,
                kind: 'c',
                major: 1,
                minor: 3,
                access: ACC_WRITE | ACC_MKNOD,
            },
            Rule {
                allow: false,
                kind: 'c',
                major: 1,
                minor: 3,
                access: ACC_MKNOD,
            },
        ];
        let s = DeviceState::from_rules(&rules);
        assert_eq!(
            s.exceptions,
            vec![
                Exception {
                    kind: 'c',
                    major: -1,
                    minor: -1,
                    access: ACC_MKNOD
                },
                Exception {
                    kind: 'c',
                    major: 1,
                    minor: 3,
                    access: ACC_READ
                },
            ]
        );
        // The wildcard mknod still covers 1:3 (no hole punching).
        assert!(s.allows('c', 1, 3, ACC_MKNOD));
    }

    #[test]
    fn narrow_type_a_rules_split_into_char_and_block() {
        let r = rules_from_spec(&[dc(true, Some("a"), Some(7), None, "r")]).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].kind, r[1].kind), ('c', 'b'));
        assert!(rules_from_spec(&[dc(true, Some("x"), None, None, "r")]).is_err());
        assert!(rules_from_spec(&[dc(true, Some("c"), None, None, "rx")]).is_err());
        assert!(rules_from_spec(&[DeviceCgroup {
            allow: true,
            access: None,
            ..Default::default()
        }])
        .is_err());
    }

    #[test]
    fn v1_transitions_never_open_more_than_the_target() {
        let target = target_state(&[dc(false, None, None, None, "rwm")]).unwrap();
        // Fresh cgroup (inherits allow-all): reset to deny, then the allow lines.
        let fresh = DeviceState::parse_v1_list("a *:* rwm\n").unwrap();
        let w = target.v1_transition(&fresh);
        assert_eq!(w[0], ("devices.deny", "a".to_string()));
        assert!(w.contains(&("devices.allow", "c 1:3 rwm".to_string())));
        assert!(w.contains(&("devices.allow", "c *:* m".to_string())));
        assert_eq!(w.len(), 1 + target.exceptions.len());
        // Already there: nothing to write.
        let list: String = target
            .exceptions
            .iter()
            .map(|e| e.line(e.access) + "\n")
            .collect();
        assert_eq!(
            target.v1_transition(&DeviceState::parse_v1_list(&list).unwrap()),
            vec![]
        );
        // One device more and one less: allow first, then deny.
        let cur = DeviceState::parse_v1_list(&(list.clone() + "c 4:1 rw\n")).unwrap();
        let mut t2 = target.clone();
        t2.apply(&Rule {
            allow: true,
            kind: 'c',
            major: 10,
            minor: 229,
            access: ACC_ALL,
        });
        assert_eq!(
            t2.v1_transition(&cur),
            vec![
                ("devices.allow", "c 10:229 rwm".into()),
                ("devices.deny", "c 4:1 rw".into())
            ]
        );
    }
}
