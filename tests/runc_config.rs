//! Black-box tests of config.json features, run inside real containers. They pass against real
//! runc too (`BERTH_TEST_RUNTIME=runc`), except where a test says it documents a difference.
mod common;
use common::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

fn setup(name: &str, args: &[&str]) -> (TestDir, Runtime, String) {
    require_root();
    let t = TestDir::new(name);
    busybox_bundle(&t.join("bundle"), args);
    let rt = Runtime::new(&t);
    (t, rt, container_id(name))
}

/// `run` the bundle in the foreground; returns (exit code, stdout, stderr).
fn run_bundle(t: &TestDir, rt: &Runtime, id: &str) -> (i32, String, String) {
    let o = rt.run(&["run", "--bundle", t.join("bundle").to_str().unwrap(), id]);
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

fn sh(t: &TestDir, script: &str) {
    edit_config(&t.join("bundle"), |c| {
        c["process"]["args"] = serde_json::json!(["sh", "-c", script])
    });
}

#[test]
fn namespaces_hostname_and_mounts_are_the_containers() {
    let (t, rt, id) = setup("namespaces", &["true"]);
    sh(&t, "hostname; cat /proc/1/cmdline; echo; for n in net uts ipc mnt cgroup; do readlink /proc/self/ns/$n; done; grep -c . /proc/self/mountinfo; ls /dev");
    edit_config(&t.join("bundle"), |c| {
        c["domainname"] = "berth.example".into()
    });
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "berth-test");
    assert!(
        lines[1].starts_with("sh"),
        "pid 1 is the container's process: {lines:?}"
    );
    for (i, ns) in ["net", "uts", "ipc", "mnt", "cgroup"].iter().enumerate() {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        assert_ne!(
            lines[2 + i],
            host.to_str().unwrap(),
            "{ns} namespace is the host's"
        );
    }
    let dev: Vec<&str> = lines[8..].to_vec();
    for d in [
        "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue", "fd",
        "stdin", "stdout", "stderr",
    ] {
        assert!(dev.contains(&d), "/dev lacks {d}: {dev:?}");
    }
}

#[test]
fn joins_an_existing_network_namespace_by_path() {
    let (t, rt, id) = setup("join_netns", &["true"]);
    let ns = format!("berth-join-{}", std::process::id());
    let _g = NetnsGuard(ns.clone());
    assert!(
        run(std::process::Command::new("ip").args(["netns", "add", &ns]))
            .status
            .success()
    );
    let path = format!("/run/netns/{ns}");
    edit_config(&t.join("bundle"), |c| {
        let nss = c["linux"]["namespaces"].as_array_mut().unwrap();
        for n in nss.iter_mut() {
            if n["type"] == "network" {
                n["path"] = path.clone().into();
            }
        }
    });
    sh(&t, "readlink /proc/self/ns/net");
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    let inode = std::fs::metadata(&path)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();
    assert_eq!(out.trim(), format!("net:[{inode}]"));
}

#[test]
fn readonly_root_and_readonly_bind_mount() {
    let (t, rt, id) = setup("readonly", &["true"]);
    let data = t.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("f"), "hello").unwrap();
    edit_config(&t.join("bundle"), |c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/data", "type": "bind", "source": data.to_str().unwrap(), "options": ["rbind", "ro"]}));
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
    });
    sh(&t, "touch /x 2>&1; cat /data/f; echo; touch /data/g 2>&1; touch /scratch/ok && echo scratch-ok");
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("Read-only file system"), "{out}");
    assert_eq!(lines[1], "hello");
    assert!(lines[2].contains("Read-only file system"), "{out}");
    assert_eq!(lines[3], "scratch-ok");
    assert!(!data.join("g").exists());
}

#[test]
fn masked_and_readonly_paths() {
    let (t, rt, id) = setup("masked", &["true"]);
    sh(&t, "wc -c < /proc/keys; ls /sys/firmware | wc -l; { echo x > /proc/sys/kernel/domainname; } 2>&1; echo done");
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "0", "/proc/keys is masked: {out}");
    assert_eq!(lines[1].trim(), "0", "/sys/firmware is masked: {out}");
    assert!(
        lines[2].contains("Read-only file system"),
        "/proc/sys is read-only: {out}"
    );
}

#[test]
fn capabilities_follow_the_config() {
    let (t, rt, id) = setup("caps", &["true"]);
    sh(&t, "grep -E '^Cap(Eff|Bnd|Prm)' /proc/self/status");
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CapEff:\t0000000020000420"), "{out}");
    assert!(out.contains("CapBnd:\t0000000020000420"), "{out}");
    // More capabilities, and none at all.
    edit_config(&t.join("bundle"), |c| {
        let caps = serde_json::json!(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]);
        c["process"]["capabilities"] =
            serde_json::json!({"bounding": caps, "effective": caps, "permitted": caps});
    });
    let (code, out, err) = run_bundle(&t, &rt, &format!("{id}-2"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CapEff:\t0000000000201000"), "{out}");
    edit_config(&t.join("bundle"), |c| {
        c["process"]["capabilities"] = serde_json::json!({})
    });
    let (code, out, _) = run_bundle(&t, &rt, &format!("{id}-3"));
    assert_eq!(code, 0);
    assert!(
        out.contains("CapEff:\t0000000000000000") && out.contains("CapBnd:\t0000000000000000"),
        "{out}"
    );
}

#[test]
fn user_umask_env_and_cwd() {
    let (t, rt, id) = setup("user", &["true"]);
    edit_config(&t.join("bundle"), |c| {
        c["process"]["user"] =
            serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 63});
        c["process"]["cwd"] = "/tmp".into();
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push("GREETING=hi".into());
    });
    sh(
        &t,
        "id -u; id -g; id -G; umask; pwd; echo $GREETING; echo $HOME",
    );
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..6],
        &["1000", "1000", "1000 10 20", "0077", "/tmp", "hi"],
        "{out}"
    );
}

#[test]
fn rlimits_are_set_and_a_raise_above_the_hard_limit_is_a_clear_error() {
    let (t, rt, id) = setup("rlimits", &["true"]);
    edit_config(&t.join("bundle"), |c| {
        c["process"]["rlimits"] = serde_json::json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}, {"type": "RLIMIT_NPROC", "hard": 100, "soft": 100}]);
    });
    sh(&t, "ulimit -n; ulimit -Hn; ulimit -u");
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "256\n512\n100\n");
    // This machine's root lacks CAP_SYS_RESOURCE: a hard limit above the current one fails.
    let (_, hard) = {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit with a valid out-parameter.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
        (r.rlim_cur, r.rlim_max)
    };
    let has_sys_resource = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| {
            l.starts_with("CapEff:")
                && u64::from_str_radix(l[7..].trim(), 16).unwrap() & (1 << 24) != 0
        });
    if !has_sys_resource && hard < u64::MAX {
        edit_config(
            &t.join("bundle"),
            |c| {
                c["process"]["rlimits"] = serde_json::json!([{"type": "RLIMIT_NOFILE", "hard": hard * 4, "soft": hard * 4}])
            },
        );
        let (code, _, err) = run_bundle(&t, &rt, &format!("{id}-2"));
        assert_eq!(code, 1);
        assert!(
            err.to_lowercase().contains("rlimit") && err.contains("operation not permitted")
                || err.contains("Operation not permitted"),
            "{err}"
        );
        assert!(!rt.root.join(format!("{id}-2")).exists());
    }
}

#[test]
fn user_namespace_maps_ids() {
    let (t, rt, id) = setup("userns", &["true"]);
    edit_config(&t.join("bundle"), |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        c["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        // gid=5 of devpts must be mapped; it is. Drop the cgroup mount: v1 hierarchies cannot
        // be mounted from a user namespace and a bind of them shows the host's tree.
        let m = c["mounts"].as_array_mut().unwrap();
        m.retain(|m| m["type"] != "cgroup");
    });
    sh(
        &t,
        "cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; cat /dev/null && echo devnull-ok",
    );
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0", "100000", "65536"]);
    assert_eq!(lines[1], ["0", "100000", "65536"]);
    assert_eq!(lines[2], ["0"]);
    assert_eq!(lines[3], ["devnull-ok"]);
}

#[test]
fn sysctl_is_written_inside_the_container() {
    let (t, rt, id) = setup("sysctl", &["true"]);
    let host_before = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    edit_config(
        &t.join("bundle"),
        |c| {
            c["linux"]["sysctl"] =
                serde_json::json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "1000"})
        },
    );
    sh(
        &t,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni",
    );
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\n1000\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap(),
        host_before,
        "the host's ipc namespace is untouched"
    );
}

#[test]
fn devices_from_the_config_are_created() {
    let (t, rt, id) = setup("devices", &["true"]);
    edit_config(&t.join("bundle"), |c| {
        c["linux"]["devices"] = serde_json::json!([{"path": "/dev/berth-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 7, "gid": 8}]);
        c["linux"]["resources"]["devices"] = serde_json::json!([{"allow": true, "access": "rwm"}]);
    });
    sh(
        &t,
        "stat -c '%t %T %a %u %g' /dev/berth-null; echo x > /dev/berth-null && echo write-ok",
    );
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1 3 666 7 8\nwrite-ok\n");
}

#[test]
fn no_pivot_moves_the_root() {
    let (t, rt, id) = setup("no_pivot", &["true"]);
    sh(&t, "ls / | grep -c busybox; ls /bin/busybox");
    let o = rt.run(&[
        "run",
        "--no-pivot",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0\n/bin/busybox\n");
}

#[test]
fn hooks_run_in_order_with_the_state_on_stdin() {
    let (t, rt, id) = setup("hooks", &["true"]);
    let log = t.join("hooks");
    std::fs::create_dir_all(&log).unwrap();
    let hook = |name: &str, file: &str| serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} >> {file}; cat >> {file}; echo >> {file}")]});
    let host = log.join("log");
    let host_s = host.to_str().unwrap();
    edit_config(&t.join("bundle"), |c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/hooks", "type": "bind", "source": log.to_str().unwrap(), "options": ["rbind"]}));
        c["hooks"] = serde_json::json!({
            "prestart": [hook("prestart", host_s)],
            "createRuntime": [hook("createRuntime", host_s)],
            "createContainer": [hook("createContainer", host_s)],
            "startContainer": [hook("startContainer", "/hooks/log")],
            "poststart": [hook("poststart", host_s)],
            "poststop": [hook("poststop", host_s)],
        });
    });
    sh(&t, "echo process >> /hooks/log");
    let (code, _, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&host).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('{') && !l.is_empty())
        .collect();
    // poststart runs after the process started; it may finish before or after the process.
    let mut order = names.clone();
    order.retain(|n| *n != "poststart");
    assert_eq!(
        order,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "process",
            "poststop"
        ],
        "{text}"
    );
    assert!(names.contains(&"poststart"), "{text}");
    for l in text.lines().filter(|l| l.starts_with('{')) {
        let s: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(s["id"], id.as_str());
        assert_eq!(s["bundle"], t.join("bundle").to_str().unwrap());
        assert!(
            s["ociVersion"].is_string() && s["status"].is_string(),
            "{l}"
        );
    }
}

#[test]
fn a_failing_hook_fails_create_and_leaves_nothing() {
    let (t, rt, id) = setup("hook_fails", &["true"]);
    edit_config(
        &t.join("bundle"),
        |c| c["hooks"] = serde_json::json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}),
    );
    let (code, _, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 1);
    assert!(err.contains("exit status 3"), "{err}");
    assert!(!rt.root.join(&id).exists());
    assert!(mounts_below(&t.path).is_empty());
}

/// Receive the pty master that the runtime sends to `--console-socket`.
fn recv_master(listener: &std::os::unix::net::UnixListener) -> OwnedFd {
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cmsg = [0u8; 64];
    // SAFETY: zeroed msghdr is valid; we point it at live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = cmsg.len();
    // SAFETY: recvmsg into our buffers.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, 0) };
    assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel filled the control buffer.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(
            !c.is_null() && (*c).cmsg_type == libc::SCM_RIGHTS,
            "no fd received"
        );
        OwnedFd::from_raw_fd(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32))
    }
}

#[test]
fn console_socket_receives_the_pty_master() {
    let (t, rt, id) = setup("console", &["true"]);
    edit_config(&t.join("bundle"), |c| {
        c["process"]["terminal"] = true.into();
        c["process"]["consoleSize"] = serde_json::json!({"height": 33, "width": 111});
        c["process"]["args"] = serde_json::json!([
            "sh",
            "-c",
            "tty; stty size; test -t 0 && echo stdin-is-tty; sleep 0.2"
        ]);
    });
    let sock = t.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let mut g = ContainerGuard::new(&rt, &id);
    let rt2 = Runtime {
        bin: rt.bin.clone(),
        root: rt.root.clone(),
    };
    let bundle = t.join("bundle");
    let id2 = id.clone();
    let creator = std::thread::spawn(move || {
        rt2.run(&[
            "create",
            "--bundle",
            bundle.to_str().unwrap(),
            "--console-socket",
            sock.to_str().unwrap(),
            &id2,
        ])
    });
    let master = recv_master(&listener);
    let o = creator.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    g.track();
    rt.ok(&["start", &id]);
    let mut out = Vec::new();
    let mut f = std::fs::File::from(master);
    let _ = std::io::Read::read_to_end(&mut f, &mut out); // EIO once the last slave closes
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("33 111"), "{out}");
    assert!(out.contains("stdin-is-tty"), "{out}");
}

#[test]
fn terminal_without_console_socket_is_refused_for_create() {
    let (t, rt, id) = setup("console_missing", &["true"]);
    edit_config(&t.join("bundle"), |c| {
        c["process"]["terminal"] = true.into()
    });
    let o = rt.run(&[
        "create",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("cannot allocate tty if runc will detach without setting console socket"),
        "{}",
        stderr(&o)
    );
    assert!(!Path::new(&rt.root.join(&id)).exists());
}

#[test]
fn oom_score_adj_is_applied() {
    let (t, rt, id) = setup("oom_score", &["cat", "/proc/self/oom_score_adj"]);
    edit_config(&t.join("bundle"), |c| {
        c["process"]["oomScoreAdj"] = 500.into()
    });
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "500\n");
}

#[test]
fn joins_the_pid_namespace_of_another_container() {
    let (t, rt, id) = setup("join_pidns", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    let b2 = t.join("bundle2");
    busybox_bundle(&b2, &["sh", "-c", "cat /proc/1/cmdline; echo; echo $$"]);
    edit_config(&b2, |c| {
        for n in c["linux"]["namespaces"].as_array_mut().unwrap().iter_mut() {
            if n["type"] == "pid" {
                n["path"] = format!("/proc/{pid}/ns/pid").into();
            }
        }
    });
    let o = rt.run(&["run", "--bundle", b2.to_str().unwrap(), &format!("{id}-b")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(String::from).collect();
    assert!(
        lines[0].starts_with("sleep"),
        "pid 1 is the first container's init: {lines:?}"
    );
    assert_ne!(lines[1], "1");
}

#[test]
fn run_with_a_terminal_in_the_foreground_proxies_it() {
    let (t, rt, id) = setup("run_tty", &["true"]);
    edit_config(&t.join("bundle"), |c| {
        c["process"]["terminal"] = true.into();
        c["process"]["args"] = serde_json::json!(["sh", "-c", "tty; echo hi; exit 4"]);
    });
    let (code, out, err) = run_bundle(&t, &rt, &id);
    if testing_real_runc() {
        // Documents runc 1.1.5: it needs a controlling terminal of its own ("open /dev/tty").
        assert!(code == 1 && err.contains("/dev/tty"), "{err}");
        return;
    }
    assert_eq!(code, 4, "{err}");
    assert!(out.contains("/dev/pts/0") && out.contains("hi"), "{out:?}");
}

#[test]
fn joins_a_user_namespace_by_path_with_new_namespaces_inside_it() {
    let (t, rt, id) = setup("join_userns", &["sleep", "1000"]);
    let userns = |c: &mut serde_json::Value| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        c["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["type"] != "cgroup");
    };
    edit_config(&t.join("bundle"), userns);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    // A second container joins the first one's user namespace by path and gets new pid, mount,
    // ... namespaces owned by it (so it can mount its own /proc).
    let b2 = t.join("bundle2");
    busybox_bundle(
        &b2,
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map; echo $$; readlink /proc/self/ns/user",
        ],
    );
    edit_config(&b2, |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
        // runc 1.1.5 wants the mappings of a joined user namespace spelled out too.
        c["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["type"] != "cgroup");
    });
    let o = rt.run(&["run", "--bundle", b2.to_str().unwrap(), &format!("{id}-b")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["0", "200000", "65536"],
        "{out}"
    );
    assert_eq!(lines[1], "1", "pid 1 of its own pid namespace: {out}");
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    assert_eq!(lines[2], theirs.to_str().unwrap());
    assert!(!rt.root.join(format!("{id}-b")).exists());
}

/// A spec without `linux.resources` still gets runc's device rules: the default devices work,
/// any other device node (here a loop block device, 7:0, bind-mounted in) is refused.
#[test]
fn no_resources_still_means_only_the_default_devices() {
    let (t, rt, id) = setup("no_resources_devices", &["true"]);
    let node = t.join("loop0");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: mknod of a block device node in the test's own directory.
    assert_eq!(
        unsafe { libc::mknod(c.as_ptr(), libc::S_IFBLK | 0o600, libc::makedev(7, 0)) },
        0
    );
    // Opening it is allowed outside a container (no capability check on open).
    assert!(std::fs::File::open(&node).is_ok());
    sh(&t, "head -c1 /dev/zero >/dev/null && echo zero-ok; (exec 3</loop0) 2>/dev/null && echo loop-open || echo loop-denied");
    edit_config(&t.join("bundle"), |c| {
        c["linux"].as_object_mut().unwrap().remove("resources");
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/loop0", "type": "bind", "source": node, "options": ["bind"]
        }));
    });
    let (code, out, err) = run_bundle(&t, &rt, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "zero-ok\nloop-denied\n");
}
