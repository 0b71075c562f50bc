mod common;
mod supervisor_util;
use supervisor_util::*;
fn field(pid: u32, f: &str) -> u64 { proc_status_field(pid, f).trim_end_matches(" kB").trim().parse().unwrap() }
fn pss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    s.lines().find(|l| l.starts_with("Pss:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
}
#[test]
fn dbg() {
    let env = Env::new("dbg");
    let b = env.bundle("b", &["/bin/sleep", "1000"], |_| {});
    for i in 0..10 {
        let id = format!("c{i}");
        let mut o = env.opts(&id, &b);
        o.log = Some(env.log(&format!("{id}.log")));
        block_on_timeout(20, env.sup.create(o)).unwrap();
        block_on_timeout(20, env.sup.start(&id)).unwrap();
        block_on_timeout(20, env.sup.state(&id)).unwrap();
    }
    let bl = env.bundle("l", &["/bin/sh", "-c", "while true; do echo tick tock; sleep 0.01; done"], |_| {});
    let mut o = env.opts("logger", &bl);
    o.log = Some(env.log("logger.log"));
    block_on_timeout(20, env.sup.create(o)).unwrap();
    block_on_timeout(20, env.sup.start("logger")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut rows = vec![];
    for i in 0..10 { let p = env.shim_pid(&format!("c{i}")); rows.push((field(p, "VmRSS:"), field(p, "RssAnon:"), pss(p))); }
    rows.sort();
    eprintln!("10 idle shims: VmRSS median {} kB (min {} max {}), RssAnon median {} kB, Pss median {} kB", rows[5].0, rows[0].0, rows[9].0, rows[5].1, rows[5].2);
    let p = env.shim_pid("logger");
    eprintln!("logging shim (~100 lines/s): VmRSS {} kB RssAnon {} kB Pss {} kB", field(p, "VmRSS:"), field(p, "RssAnon:"), pss(p));
    let o = std::process::Command::new("/tmp/smaps_anon.sh").arg(env.shim_pid("c0").to_string()).output().unwrap(); eprintln!("shim anon: {}", String::from_utf8_lossy(&o.stdout));
    for i in 0..10 { block_on_timeout(20, env.sup.delete(&format!("c{i}"), true)).unwrap(); }
    block_on_timeout(20, env.sup.delete("logger", true)).unwrap();
}
