//! `runc update`: change a running container's resource limits, from flags or from a resources
//! JSON document (`-r FILE`, `-r -` for stdin; the flags are ignored then, as in runc).
use super::{option, Arity, CmdResult, Command, Failure, Global, Opts};
use crate::oci::runtime::Resources;
use crate::runtime::entry::{self, Update};
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "update",
    summary: "update container resource constraints",
    usage: "update [command options] <container-id>",
    flags: &[
        option(&["resources", "r"], "path to the file containing the resources to update or '-' to read from the standard input"),
        option(&["blkio-weight"], "Specifies per cgroup weight, range is from 10 to 1000"),
        option(&["cpu-period"], "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"),
        option(&["cpu-quota"], "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"),
        option(&["cpu-burst"], "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period"),
        option(&["cpu-share", "cpu-shares"], "CPU shares (relative weight vs. other containers)"),
        option(&["cpu-rt-period"], "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"),
        option(&["cpu-rt-runtime"], "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"),
        option(&["cpuset-cpus"], "CPU(s) to use"),
        option(&["cpuset-mems"], "Memory node(s) to use"),
        option(&["cpu-idle"], "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE"),
        option(&["kernel-memory"], "(obsoleted; do not use)"),
        option(&["kernel-memory-tcp"], "(obsoleted; do not use)"),
        option(&["memory"], "Memory limit (in bytes)"),
        option(&["memory-reservation"], "Memory reservation or soft_limit (in bytes)"),
        option(&["memory-swap"], "Total memory usage (memory + swap); set '-1' to enable unlimited swap"),
        option(&["pids-limit"], "Maximum number of pids allowed in the container"),
        option(&["l3-cache-schema"], "The string of Intel RDT/CAT L3 cache schema"),
        option(&["mem-bw-schema"], "The string of Intel RDT/MBA memory bandwidth schema"),
    ],
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let u = update_from(o)?;
    entry::update(&g.root, &o.args[0], &u)?;
    Ok(ExitCode::SUCCESS)
}

fn update_from(o: &Opts) -> Result<Update, Failure> {
    if o.get("l3-cache-schema").is_some_and(|v| !v.is_empty()) {
        return Err(Failure::new(
            "Intel RDT/CAT: l3 cache schema is not enabled",
        ));
    }
    if o.get("mem-bw-schema").is_some_and(|v| !v.is_empty()) {
        return Err(Failure::new(
            "Intel RDT/MBA: memory bandwidth schema is not enabled",
        ));
    }
    if let Some(src) = o.get("resources").filter(|s| !s.is_empty()) {
        let data = if src == "-" {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
                .map_err(|e| Failure::new(format!("read standard input: {e}")))?;
            v
        } else {
            std::fs::read(src).map_err(|e| {
                Failure::new(format!(
                    "open {src}: {}",
                    crate::base::Error::from(e).message()
                ))
            })?
        };
        let r: Resources =
            serde_json::from_slice(&data).map_err(|e| Failure::new(e.to_string()))?;
        return Ok(Update {
            resources: Some(r),
            ..Default::default()
        });
    }
    if o.get("kernel-memory").is_some() || o.get("kernel-memory-tcp").is_some() {
        log::warn!("Kernel memory settings are ignored and will be removed");
    }
    let u64f = |name: &str| -> Result<Option<u64>, Failure> {
        o.get(name).filter(|v| !v.is_empty()).map(|v| v.parse::<u64>().map_err(|_| Failure::new(format!("invalid value for {name}: strconv.ParseUint: parsing {v:?}: invalid syntax")))).transpose()
    };
    let i64f = |name: &str| -> Result<Option<i64>, Failure> {
        o.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    Failure::new(format!(
                        "invalid value for {name}: strconv.ParseInt: parsing {v:?}: invalid syntax"
                    ))
                })
            })
            .transpose()
    };
    let ram = |name: &str| -> Result<Option<i64>, Failure> {
        o.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                if v == "-1" {
                    Ok(-1)
                } else {
                    ram_in_bytes(v).ok_or_else(|| {
                        Failure::new(format!("invalid value for {name}: invalid size: '{v}'"))
                    })
                }
            })
            .transpose()
    };
    let go_int = |name: &str| -> Result<Option<i64>, Failure> {
        o.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    Failure::new(format!("invalid value {v:?} for flag -{name}: parse error"))
                })
            })
            .transpose()
    };
    let blkio = match go_int("blkio-weight")? {
        None | Some(0) => None,
        Some(w) if (0..=u16::MAX as i64).contains(&w) => Some(w as u16),
        Some(w) => {
            return Err(Failure::new(format!(
                "invalid value \"{w}\" for flag -blkio-weight: value out of range"
            )))
        }
    };
    Ok(Update {
        resources: None,
        memory: ram("memory")?,
        memory_swap: ram("memory-swap")?,
        memory_reservation: ram("memory-reservation")?,
        cpu_shares: u64f("cpu-share")?,
        cpu_quota: i64f("cpu-quota")?,
        cpu_period: u64f("cpu-period")?,
        cpu_burst: u64f("cpu-burst")?,
        cpu_rt_period: u64f("cpu-rt-period")?,
        cpu_rt_runtime: i64f("cpu-rt-runtime")?,
        cpu_idle: i64f("cpu-idle")?,
        cpuset_cpus: o
            .get("cpuset-cpus")
            .filter(|v| !v.is_empty())
            .map(String::from),
        cpuset_mems: o
            .get("cpuset-mems")
            .filter(|v| !v.is_empty())
            .map(String::from),
        pids_limit: go_int("pids-limit")?,
        blkio_weight: blkio,
    })
}

/// docker/go-units RAMInBytes: "512", "64k", "100m", "1.5g", "2GiB", "1 GB" (binary multiples).
pub fn ram_in_bytes(s: &str) -> Option<i64> {
    let s = s.trim();
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(num_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let mut unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    if unit.ends_with('b') {
        unit.pop();
    }
    if unit.len() == 2 && unit.ends_with('i') {
        unit.pop();
    }
    let mul: f64 = match unit.as_str() {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    Some((v * mul) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_go_units() {
        assert_eq!(ram_in_bytes("512"), Some(512));
        assert_eq!(ram_in_bytes("64k"), Some(65536));
        assert_eq!(ram_in_bytes("100m"), Some(100 << 20));
        assert_eq!(ram_in_bytes("100M"), Some(100 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Some(3 << 29));
        assert_eq!(ram_in_bytes("2GiB"), Some(2 << 30));
        assert_eq!(ram_in_bytes("1 GB"), Some(1 << 30));
        assert_eq!(ram_in_bytes("10x"), None);
        assert_eq!(ram_in_bytes("m"), None);
    }

    #[test]
    fn flags_become_an_update() {
        let flags = COMMAND.flags;
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let o = super::super::parse(
            flags,
            &s(&[
                "--memory",
                "64m",
                "--memory-swap=-1",
                "--cpu-shares",
                "512",
                "--cpu-quota",
                "-1",
                "--pids-limit",
                "7",
                "--cpuset-cpus",
                "0",
                "id",
            ]),
        )
        .ok()
        .unwrap();
        let u = update_from(&o).ok().unwrap();
        assert_eq!(u.memory, Some(64 << 20));
        assert_eq!(u.memory_swap, Some(-1));
        assert_eq!(u.cpu_shares, Some(512));
        assert_eq!(u.cpu_quota, Some(-1));
        assert_eq!(u.pids_limit, Some(7));
        assert_eq!(u.cpuset_cpus.as_deref(), Some("0"));
        let o = super::super::parse(flags, &s(&["--memory", "lots", "id"]))
            .ok()
            .unwrap();
        assert_eq!(
            update_from(&o).err().unwrap().msg,
            "invalid value for memory: invalid size: 'lots'"
        );
    }
}
