//! Security regression tests, each named after the CVE it pins. Black-box: they also run
//! against real runc (`BERTH_TEST_RUNTIME=runc`); a test that fails there documents runc
//! 1.1.5's state (Debian backports only some fixes), not ours.
mod common;
use common::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

fn setup(name: &str, args: &[&str]) -> (TestDir, Runtime, String) {
    require_root();
    let t = TestDir::new(name);
    busybox_bundle(&t.join("bundle"), args);
    let rt = Runtime::new(&t);
    (t, rt, container_id(name))
}

/// The runtime with an extra, inheritable (no CLOEXEC) fd `fd` open on `dir`: what a leaky
/// caller or a runtime-internal leak looks like to the container.
fn with_leaked_dir(
    rt: &Runtime,
    args: &[&str],
    dir: &Path,
    fd: i32,
    out: &Path,
) -> std::process::Output {
    let d = std::fs::File::open(dir).unwrap();
    let raw = d.as_raw_fd();
    let mut c = rt.cmd();
    c.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(out.with_extension("out")).unwrap())
        .stderr(std::fs::File::create(out.with_extension("err")).unwrap());
    // SAFETY: dup2 and fcntl are async-signal-safe; they run in the forked child before exec.
    // When the directory happens to be open at `fd` already (tests run in parallel, so fd
    // numbers vary), dup2 would keep its close-on-exec flag: clear the flag instead.
    unsafe {
        c.pre_exec(move || {
            let r = if raw == fd {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, fd)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let status = c.status().unwrap();
    std::process::Output {
        status,
        stdout: std::fs::read(out.with_extension("out")).unwrap(),
        stderr: std::fs::read(out.with_extension("err")).unwrap(),
    }
}

#[test]
fn cve_2019_5736_runtime_binary_cannot_be_reopened_for_writing() {
    let (t, rt, id) = setup("cve_2019_5736", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "create",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    // What a process in the container would grab: a handle on the runtime's exe (the init is
    // the runtime until it execs the container's program).
    let exe = std::ffi::CString::new(format!("/proc/{pid}/exe")).unwrap();
    // SAFETY: open with O_PATH on a NUL-terminated path; the fd is owned below.
    let raw = unsafe { libc::open(exe.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    assert!(
        raw >= 0,
        "open {exe:?}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: raw is a new fd.
    let handle = unsafe { OwnedFd::from_raw_fd(raw) };
    rt.ok(&["delete", "--force", &id]);
    reap(pid);
    // The init is gone: nothing executes that file now, so ETXTBSY no longer protects it.
    let host = std::fs::metadata(std::fs::canonicalize(&rt.bin).unwrap()).unwrap();
    let reopen = format!("/proc/self/fd/{}", handle.as_raw_fd());
    match std::fs::OpenOptions::new().write(true).open(&reopen) {
        Err(e) => {
            let code = e.raw_os_error().unwrap_or(0);
            assert!(
                [libc::EROFS, libc::EPERM, libc::EACCES, libc::ETXTBSY].contains(&code),
                "unexpected error reopening the exe: {e}"
            );
        }
        Ok(f) => {
            let m = f.metadata().unwrap();
            assert!(
                !(m.dev() == host.dev() && m.ino() == host.ino()),
                "CVE-2019-5736: the host's runtime binary {} was reopened for writing through the init's exe",
                rt.bin.display()
            );
            // A copy (sealed memfd): writing to it must fail too.
            let r = std::io::Write::write(&mut &f, b"x");
            assert!(r.is_err(), "the runtime's exe copy is writable");
        }
    }
}

#[test]
fn cve_2024_21626_no_host_fd_leaks_into_the_container() {
    let (t, rt, id) = setup(
        "cve_2024_21626_fds",
        &["sh", "-c", "ls /proc/self/fd | tr '\\n' ' '"],
    );
    let out = with_leaked_dir(
        &rt,
        &["run", "--bundle", t.join("bundle").to_str().unwrap(), &id],
        Path::new("/"),
        7,
        &t.join("run"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fds: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split_whitespace()
        .collect();
    // 0-2 and the directory `ls` itself opened; nothing of the runtime's.
    assert!(
        fds.len() <= 4 && !fds.contains(&"7"),
        "fds visible in the container: {fds:?}"
    );
    // --preserve-fds passes exactly what was asked for.
    let out = with_leaked_dir(
        &rt,
        &[
            "run",
            "--preserve-fds",
            "5",
            "--bundle",
            t.join("bundle").to_str().unwrap(),
            &format!("{id}-2"),
        ],
        Path::new("/"),
        7,
        &t.join("run2"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fds: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    assert!(
        fds.contains(&"7".to_string()),
        "a preserved fd (3 + 5 > 7) reaches the container: {fds:?}"
    );
}

#[test]
fn cve_2024_21626_exec_leaks_no_host_fd() {
    let (t, rt, id) = setup("cve_2024_21626_exec", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    g.track();
    let out = with_leaked_dir(
        &rt,
        &["exec", &id, "sh", "-c", "ls /proc/self/fd | tr '\\n' ' '"],
        Path::new("/"),
        7,
        &t.join("exec"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fds: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    assert!(
        fds.len() <= 4 && !fds.contains(&"7".to_string()),
        "fds visible to the exec'd process: {fds:?}"
    );
}

#[test]
fn cve_2024_21626_cwd_outside_the_rootfs_is_refused() {
    let (t, rt, id) = setup("cve_2024_21626_cwd", &["sh", "-c", "pwd; ls"]);
    let host = t.join("host-secret");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("secret"), "host data").unwrap();
    edit_config(&t.join("bundle"), |c| {
        c["process"]["cwd"] = "/proc/self/fd/7".into()
    });
    let out = with_leaked_dir(
        &rt,
        &["run", "--bundle", t.join("bundle").to_str().unwrap(), &id],
        &host,
        7,
        &t.join("run"),
    );
    assert!(
        !stdout(&out).contains("secret"),
        "CVE-2024-21626: the container's cwd is a host directory: {}",
        stdout(&out)
    );
    assert_ne!(
        out.status.code(),
        Some(0),
        "a cwd outside the rootfs must be refused"
    );
    if !testing_real_runc() {
        assert!(
            stderr(&out).contains("outside of container mount namespace root"),
            "{}",
            stderr(&out)
        );
    }
    assert!(!rt.root.join(&id).exists());
}

#[test]
fn cve_2021_30465_symlinked_mount_destination_stays_in_the_rootfs() {
    let (t, rt, id) = setup("cve_2021_30465", &["true"]);
    // An image whose /evil points at a host path: the mount must land on the rootfs's own
    // copy of that path, never create or cover anything on the host.
    let host = t.join("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    let rootfs = t.join("bundle/rootfs");
    std::os::unix::fs::symlink(&host, rootfs.join("evil")).unwrap();
    edit_config(&t.join("bundle"), |c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        c["process"]["args"] = serde_json::json!([
            "sh",
            "-c",
            format!("grep -c ' {}/sub ' /proc/self/mountinfo", host.display())
        ]);
    });
    let o = rt.run(&["run", "--bundle", t.join("bundle").to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "1",
        "the tmpfs is inside the container at the symlink's in-root target"
    );
    assert!(
        !host.join("sub").exists(),
        "CVE-2021-30465 class: the mount target was created on the host"
    );
    let inside = rootfs.join(host.strip_prefix("/").unwrap()).join("sub");
    assert!(
        inside.is_dir(),
        "the target was created inside the rootfs: {}",
        inside.display()
    );
}

#[test]
fn cve_2019_19921_symlinked_proc_is_refused() {
    let (t, rt, id) = setup("cve_2019_19921", &["true"]);
    let rootfs = t.join("bundle/rootfs");
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    std::fs::create_dir_all(rootfs.join("fakeproc")).unwrap();
    std::os::unix::fs::symlink("/fakeproc", rootfs.join("proc")).unwrap();
    let o = rt.run(&["run", "--bundle", t.join("bundle").to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("must be mounted on ordinary directory"),
        "{}",
        stderr(&o)
    );
    assert!(!rt.root.join(&id).exists());
}

#[test]
fn masked_and_readonly_paths_cannot_be_undone_from_inside() {
    let (t, rt, id) = setup("unmask", &["true"]);
    let script = "umount /proc/keys 2>/dev/null && echo UNMOUNTED-keys; umount -l /sys/firmware 2>/dev/null && echo UNMOUNTED-firmware; \
                  mount -o remount,rw /proc/sys 2>/dev/null && echo REMOUNTED-sys; mount -t proc proc /mnt 2>/dev/null && echo NEW-proc; \
                  wc -c < /proc/keys; ls /sys/firmware | wc -l";
    edit_config(&t.join("bundle"), |c| {
        c["process"]["args"] = serde_json::json!(["sh", "-c", script])
    });
    std::fs::create_dir_all(t.join("bundle/rootfs/mnt")).unwrap();
    let o = rt.run(&["run", "--bundle", t.join("bundle").to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        !out.contains("UNMOUNTED") && !out.contains("REMOUNTED") && !out.contains("NEW-proc"),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines, ["0", "0"], "{out}");
}

#[test]
fn a_container_sees_no_host_mounts_after_pivot() {
    let (t, rt, id) = setup("no_host_mounts", &["true"]);
    let marker = t.path.to_string_lossy().into_owned();
    edit_config(&t.join("bundle"), |c| {
        c["process"]["args"] = serde_json::json!(["sh", "-c", "cat /proc/self/mountinfo"])
    });
    let o = rt.run(&["run", "--bundle", t.join("bundle").to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    // Mount points (field 5) are all inside the container; the host's /tmp tree is gone.
    for l in out.lines() {
        let mp = l.split(' ').nth(4).unwrap_or("");
        assert!(
            !mp.starts_with(&marker),
            "host path visible as a mount point: {l}"
        );
    }
}
