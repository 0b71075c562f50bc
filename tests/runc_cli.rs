//! The runc command line: global flags, error output as containerd's shim reads it, usage
//! errors, `spec`. Black-box (also against real runc) unless a test says otherwise.
mod common;
use common::*;

fn rt(name: &str) -> (TestDir, Runtime) {
    let t = TestDir::new(name);
    let rt = Runtime::new(&t);
    (t, rt)
}

#[test]
fn errors_are_logrus_text_lines_on_stderr() {
    let (_t, rt) = rt("cli_text");
    let o = rt.run(&["state", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.starts_with("time=\"") && e.ends_with(" level=error msg=\"container does not exist\"\n"),
        "{e:?}"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn log_format_json_writes_one_json_line() {
    let (_t, rt) = rt("cli_json");
    let o = rt.run(&["--log-format", "json", "state", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    let v: serde_json::Value = serde_json::from_str(e.trim()).unwrap();
    assert_eq!(v["level"], "error");
    assert_eq!(v["msg"], "container does not exist");
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
    assert!(
        e.starts_with("{\"level\":\"error\",\"msg\":"),
        "keys in logrus order: {e}"
    );
}

#[test]
fn log_file_gets_the_json_entry_that_containerd_reads() {
    let (t, rt) = rt("cli_logfile");
    let log = t.join("log.json");
    let o = rt.run(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "nosuch",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "container does not exist\n",
        "the bare message on stderr"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    // containerd's shim takes the last entry whose level is error as the message.
    let last = text
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["level"] == "error")
        .unwrap();
    assert_eq!(last["msg"], "container does not exist");
    // A failed create says what failed, in the same place.
    let o = rt.run(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        t.join("nope").to_str().unwrap(),
        "c1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(
        last["msg"]
            .as_str()
            .unwrap()
            .starts_with("runc create failed: "),
        "{last}"
    );
}

#[test]
fn usage_errors_follow_runc() {
    let (_t, rt) = rt("cli_usage");
    let o = rt.run(&["state"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("runc: \\\"state\\\" requires exactly 1 argument(s)"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).starts_with("Incorrect Usage."), "{}", stdout(&o));
    let o = rt.run(&["kill"]);
    assert!(
        stderr(&o).contains("requires a minimum of 1 argument(s)"),
        "{}",
        stderr(&o)
    );
    let o = rt.run(&["state", "--frob", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("flag provided but not defined: -frob"),
        "{}",
        stderr(&o)
    );
    let o = rt.run(&["frob"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("No help topic for 'frob'"),
        "{}",
        stderr(&o)
    );
    // Go's flag package: single-dash long names and -name=value work too.
    let o = rt.run(&["-log-format=json", "state", "nosuch"]);
    assert!(
        stderr(&o).starts_with("{\"level\":\"error\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn spec_writes_runcs_default_config_and_refuses_to_overwrite() {
    let (t, rt) = rt("cli_spec");
    let b = t.join("b");
    std::fs::create_dir_all(&b).unwrap();
    rt.ok(&["spec", "--bundle", b.to_str().unwrap()]);
    let ours: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert_eq!(ours["process"]["args"], serde_json::json!(["sh"]));
    assert_eq!(ours["process"]["terminal"], true);
    assert_eq!(ours["hostname"], "runc");
    assert_eq!(
        ours["root"],
        serde_json::json!({"path": "rootfs", "readonly": true})
    );
    assert_eq!(ours["mounts"].as_array().unwrap().len(), 7);
    assert_eq!(ours["linux"]["maskedPaths"].as_array().unwrap().len(), 10);
    assert!(
        std::fs::read_to_string(b.join("config.json"))
            .unwrap()
            .contains("\n\t\"process\""),
        "tab-indented"
    );
    let o = rt.run(&["spec", "--bundle", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("File config.json exists. Remove it first"),
        "{}",
        stderr(&o)
    );
    let r = t.join("r");
    std::fs::create_dir_all(&r).unwrap();
    rt.ok(&["spec", "--rootless", "--bundle", r.to_str().unwrap()]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 0);
    assert!(v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "user"));
    // Same shape as real runc's, field for field but the version.
    if std::path::Path::new("/usr/sbin/runc").exists() && !testing_real_runc() {
        let theirs_dir = t.join("theirs");
        std::fs::create_dir_all(&theirs_dir).unwrap();
        let o = run(std::process::Command::new("/usr/sbin/runc").args([
            "spec",
            "--bundle",
            theirs_dir.to_str().unwrap(),
        ]));
        assert!(o.status.success());
        let mut theirs: serde_json::Value =
            serde_json::from_slice(&std::fs::read(theirs_dir.join("config.json")).unwrap())
                .unwrap();
        let mut ours = ours.clone();
        theirs["ociVersion"] = "x".into();
        ours["ociVersion"] = "x".into();
        assert_eq!(ours, theirs);
    }
}

#[test]
fn systemd_cgroup_is_refused_with_a_clear_error() {
    if testing_real_runc() {
        return; // runc has the systemd driver
    }
    require_root();
    let (t, rt) = rt("cli_systemd");
    busybox_bundle(&t.join("bundle"), &["true"]);
    let o = rt.run(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        "c1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("systemd cgroup driver is not supported"),
        "{}",
        stderr(&o)
    );
    assert!(!rt.root.join("c1").exists());
    // Commands that only read or clean up still work with the flag (containerd passes it to all).
    let o = rt.run(&["--systemd-cgroup", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
