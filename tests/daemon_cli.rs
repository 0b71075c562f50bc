//! The real Docker CLI 28 (/usr/local/bin/docker, API 1.50) against berth's dockerd.
mod common;
use common::daemon::Dockerd;
use common::*;

fn docker(d: &Dockerd, args: &[&str]) -> std::process::Output {
    run(d.docker().args(args))
}

#[test]
fn docker_version_shows_berth_server_and_negotiated_api() {
    require_root();
    let dir = TestDir::new("daemon_cli_version");
    let d = Dockerd::start(&dir, &[]);
    let o = docker(&d, &["version"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Server: berth"), "{out}");
    assert!(out.contains("0.1.0-berth"), "{out}");
    assert!(
        out.contains("API version:      1.50 (minimum version 1.24)"),
        "{out}"
    );
    // The client spoke 1.50 without downgrading.
    assert!(out.contains(" API version:       1.50\n"), "{out}");
    assert!(!out.contains("downgraded"), "{out}");
    let o = docker(&d, &["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(stdout(&o).trim(), "1.50", "{}", stderr(&o));
    let o = docker(
        &d,
        &[
            "version",
            "--format",
            "{{.Server.Os}}/{{.Server.Arch}} {{.Server.KernelVersion}}",
        ],
    );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(stdout(&o).trim(), format!("linux/amd64 {}", kernel.trim()));
}

fn cpus_allowed() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    list.split(',')
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<i64>().unwrap() - a.parse::<i64>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

#[test]
fn docker_info_reports_the_hosts_real_values() {
    require_root();
    let dir = TestDir::new("daemon_cli_info");
    let d = Dockerd::start(&dir, &[]);
    let o = docker(&d, &["info"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Server Version: 0.1.0-berth"), "{out}");
    assert!(
        out.contains(&format!("Docker Root Dir: {}", d.data_root.display())),
        "{out}"
    );
    assert!(out.contains("Storage Driver: overlay2"), "{out}");
    assert!(!stderr(&o).contains("ERROR"), "{}", stderr(&o));

    let o = docker(&d, &["info", "--format", "{{json .}}"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let read = |p: &str| std::fs::read_to_string(p).unwrap().trim().to_string();
    assert_eq!(v["Name"], read("/proc/sys/kernel/hostname"));
    assert_eq!(v["KernelVersion"], read("/proc/sys/kernel/osrelease"));
    assert_eq!(v["NCPU"], cpus_allowed());
    let meminfo = read("/proc/meminfo");
    let kb: i64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(v["MemTotal"], kb * 1024);
    assert_eq!(v["OSType"], "linux");
    assert_eq!(v["Architecture"], "x86_64");
    assert_eq!(v["Driver"], "overlay2");
    assert_eq!(v["DockerRootDir"], d.data_root.display().to_string());
    assert_eq!(v["Containers"], 0);
    assert_eq!(v["Images"], 0);
    assert!(v["CgroupVersion"] == "1" || v["CgroupVersion"] == "2");
    assert_eq!(v["CgroupDriver"], "cgroupfs");
    let id = v["ID"].as_str().unwrap();
    assert_eq!(id.len(), 36, "engine ID is a UUID: {id}");
    assert_eq!(read(d.data_root.join("engine-id").to_str().unwrap()), id);
    assert!(v["OperatingSystem"].as_str().unwrap().len() > 1);
}

#[test]
fn docker_api_version_too_new_is_refused() {
    require_root();
    let dir = TestDir::new("daemon_cli_too_new");
    let d = Dockerd::start(&dir, &[]);
    let o = run(d.docker().env("DOCKER_API_VERSION", "1.99").arg("version"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Error response from daemon: client version 1.99 is too new. Maximum supported API version is 1.50"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn docker_api_version_too_old_is_refused() {
    require_root();
    let dir = TestDir::new("daemon_cli_too_old");
    let d = Dockerd::start(&dir, &[]);
    let o = run(d.docker().env("DOCKER_API_VERSION", "1.12").arg("version"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "Error response from daemon: client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn docker_pinned_to_api_1_41_is_served() {
    require_root();
    let dir = TestDir::new("daemon_cli_1_41");
    let d = Dockerd::start(&dir, &[]);
    let o = run(d.docker().env("DOCKER_API_VERSION", "1.41").args([
        "info",
        "--format",
        "{{.ServerVersion}}",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "0.1.0-berth");
    let o = run(d.docker().env("DOCKER_API_VERSION", "1.41").arg("version"));
    assert!(
        stdout(&o).contains("API version:       1.41"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn docker_swarm_commands_get_a_standalone_nodes_answers() {
    require_root();
    let dir = TestDir::new("daemon_cli_swarm");
    let d = Dockerd::start(&dir, &[]);
    let o = docker(&d, &["node", "ls"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Error response from daemon: This node is not a swarm manager."),
        "{}",
        stderr(&o)
    );
    let o = docker(&d, &["swarm", "init"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("berth does not support swarm mode"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn accepted_daemon_options_show_in_docker_info() {
    require_root();
    let dir = TestDir::new("daemon_cli_options");
    let d = Dockerd::start(
        &dir,
        &[
            "--live-restore",
            "--insecure-registry",
            "10.1.2.3:5000",
            "--add-runtime",
            "crun=/usr/bin/crun",
            "--iptables=false",
            "--bridge=none",
            "--ip-masq=false",
            "--label",
            "team=a",
            "-D",
        ],
    );
    let o = docker(&d, &["info", "--format", "{{json .}}"]);
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    assert_eq!(v["LiveRestoreEnabled"], true);
    assert_eq!(v["Debug"], true);
    assert_eq!(v["Runtimes"]["crun"]["path"], "/usr/bin/crun");
    assert_eq!(
        v["RegistryConfig"]["IndexConfigs"]["10.1.2.3:5000"]["Secure"],
        false
    );
    assert_eq!(v["Labels"], serde_json::json!(["team=a"]));
}

#[test]
fn several_hosts_including_loopback_tcp_are_served() {
    require_root();
    let dir = TestDir::new("daemon_cli_tcp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let second = dir.join("second.sock");
    let d = Dockerd::start(
        &dir,
        &[
            "-H",
            &format!("tcp://127.0.0.1:{port}"),
            "-H",
            &format!("unix://{}", second.display()),
        ],
    );
    for host in [
        format!("tcp://127.0.0.1:{port}"),
        format!("unix://{}", second.display()),
        d.host(),
    ] {
        let o = run(d.docker().env("DOCKER_HOST", &host).args([
            "version",
            "--format",
            "{{.Server.APIVersion}}",
        ]));
        assert_eq!(stdout(&o).trim(), "1.50", "{host}: {}", stderr(&o));
    }
    assert!(
        d.log_text()
            .contains("Binding to IP address without --tlsverify is insecure"),
        "{}",
        d.log_text()
    );
}
