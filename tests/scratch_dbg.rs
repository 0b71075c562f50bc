mod common;
mod supervisor_util;
use supervisor_util::*;
#[test]
fn dbg() {
    let env = Env::new("dbg");
    let b = env.bundle("b", &["/bin/sh", "-c", "while true; do echo tick; sleep 0.02; done"], |_| {});
    let mut o = env.opts("c1", &b);
    if std::env::var("NOLOG").is_err() { o.log = Some(env.log("c1-json.log")); }
    block_on_timeout(20, env.sup.create(o)).unwrap();
    let shim = env.shim_pid("c1");
    let show = |what: &str| {
        eprintln!("== {what}: VmRSS {} RssAnon {} RssFile {}", proc_status_field(shim, "VmRSS:"), proc_status_field(shim, "RssAnon:"), proc_status_field(shim, "RssFile:"));
        let smaps = std::fs::read_to_string(format!("/proc/{shim}/smaps")).unwrap();
        let mut cur = String::new();
        for l in smaps.lines() {
            if l.contains('-') && !l.starts_with(|c: char| c.is_ascii_uppercase()) { cur = l.to_string(); }
            if l.starts_with("Rss:") { let kb: u64 = l.split_whitespace().nth(1).unwrap().parse().unwrap(); if kb > 0 { eprintln!("{kb:6} kB  {cur}"); } }
            if l.starts_with("Anonymous:") && !l.contains(" 0 kB") { eprintln!("        {l}"); }
        }
    };
    show("after create");
    block_on_timeout(20, env.sup.start("c1")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    for _ in 0..20 { block_on_timeout(20, env.sup.state("c1")).unwrap(); }
    show("busy");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    show("idle (logging 50 lines/s)");
    let smaps = std::fs::read_to_string(format!("/proc/{shim}/smaps_rollup")).unwrap();
    eprintln!("{}", smaps.lines().filter(|l| l.starts_with("Pss") || l.starts_with("Rss") || l.starts_with("Private")).collect::<Vec<_>>().join("\n"));
    block_on_timeout(20, env.sup.delete("c1", true)).unwrap();
}
