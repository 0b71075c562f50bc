//! `docker cp`: files between a container and the host through the archive endpoints
//! (`GET`/`HEAD`/`PUT /containers/{id}/archive`). Paths follow the CLI's archive rules: a
//! directory lands inside an existing directory or becomes the new path; a trailing `/.` copies
//! the contents. Extraction never leaves the destination directory: names are checked, parent
//! directories are created without following symlinks, hard links must point inside.

use super::command::{sw, Arity, CliError, Opt, Parsed, Spec};
use super::config::base64_decode;
use super::format::{human_size_prec, io_msg};
use super::{block, errln, Ctx};
use crate::api::client::path_escape;
use crate::api::client::Query;
use crate::api::client::RequestBody;
use smol::io::AsyncWriteExt;
use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};

const OPTS: &[Opt] = &[
    sw("archive", Some('a'), "Archive mode (copy all uid/gid information)"),
    sw("follow-link", Some('L'), "Always follow symbol link in SRC_PATH"),
    sw("quiet", Some('q'), "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached"),
];

pub const SPECS: &[Spec] = &[Spec {
    group: "container",
    name: "cp",
    aliases: &[],
    top: Some("cp"),
    usage: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdocker cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    short: "Copy files/folders between a container and the local filesystem",
    long: "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
    opts: OPTS,
    arity: Arity::Exact(2),
    stop_at_first: false,
    run_like: false,
    run: cp,
}];

/// `CONTAINER:PATH` or a local path (absolute paths and `./x:y` are local).
fn split_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (Some(c), p),
        _ => (None, arg),
    }
}

/// What `X-Docker-Container-Path-Stat` says about a path in the container.
#[derive(Debug, Default, Clone, serde::Deserialize)]
struct PathStat {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mode: u32,
    #[serde(default, rename = "linkTarget")]
    link_target: String,
}

const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;

fn decode_stat(h: Option<&str>) -> Option<PathStat> {
    let raw = base64_decode(h?)?;
    serde_json::from_slice(&raw).ok()
}

fn stat_path(ctx: &mut Ctx, container: &str, path: &str) -> Result<PathStat, CliError> {
    let api = ctx.api()?;
    let p = format!("/containers/{}/archive", path_escape(container));
    block(async {
        let resp = api
            .send(
                "HEAD",
                &p,
                &Query::new().add("path", path),
                &[],
                RequestBody::Empty,
            )
            .await?;
        Ok::<PathStat, CliError>(
            decode_stat(resp.headers.get("X-Docker-Container-Path-Stat")).unwrap_or_default(),
        )
    })
}

/// `filepath.Abs` keeping a trailing `/` or `/.` (they change what is copied).
fn resolve_local(p: &str) -> String {
    let abs = if p.starts_with('/') {
        PathBuf::from(p)
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| PathBuf::from(p))
    };
    let mut clean = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::Normal(n) => clean.push(n),
            _ => {}
        }
    }
    let mut s = clean.to_string_lossy().into_owned();
    if p.ends_with("/.") {
        s.push_str("/.");
    } else if p.ends_with('/') && s != "/" {
        s.push('/');
    }
    s
}

/// The last path element (`/a/b/` → `b`, `/a/b/.` → `.`).
fn base_name(p: &str) -> String {
    if p.ends_with("/.") {
        return ".".into();
    }
    p.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string()
}

fn parent_dir(p: &str) -> String {
    let t = p.trim_end_matches('/');
    match t.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => t[..i].to_string(),
        None => ".".into(),
    }
}

/// An entry name with its first component `from` replaced by `to` (`to` empty: dropped). With
/// `from` = `.` (a `SRC/.` archive, entries `./x`) every entry is placed under `to`.
fn rebase(name: &Path, from: &str, to: &str) -> Option<PathBuf> {
    let mut comps = name
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .peekable();
    let mut out = PathBuf::new();
    if from == "." {
        if !to.is_empty() {
            out.push(to);
        }
        for c in comps {
            match c {
                Component::Normal(n) => out.push(n),
                _ => return None,
            }
        }
        return Some(out);
    }
    match comps.next() {
        Some(Component::Normal(first))
            if !from.is_empty() && first == std::ffi::OsStr::new(from) =>
        {
            if !to.is_empty() {
                out.push(to);
            }
        }
        Some(Component::Normal(first)) => out.push(first),
        None => return Some(out),
        _ => return None,
    }
    for c in comps {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Create `rel`'s parent directories under `root`, refusing to pass through symlinks.
fn make_parents(root: &Path, rel: &Path) -> std::io::Result<()> {
    let mut cur = root.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{}: not a directory",
                    cur.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&cur)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Extract `r` into `dst_dir`, renaming the top entry `from` to `to`.
pub fn extract<R: std::io::Read>(r: R, dst_dir: &Path, from: &str, to: &str) -> Result<(), String> {
    let mut ar = tar::Archive::new(r);
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_overwrite(true);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = entry.path().map_err(|e| e.to_string())?.into_owned();
        let rel = rebase(&name, from, to).ok_or_else(|| {
            format!(
                "refusing to extract {}: path escapes the destination",
                name.display()
            )
        })?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        make_parents(dst_dir, &rel).map_err(|e| e.to_string())?;
        let target = dst_dir.join(&rel);
        let kind = entry.header().entry_type();
        if let Ok(m) = std::fs::symlink_metadata(&target) {
            if !(m.is_dir() && kind.is_dir()) {
                if m.is_dir() {
                    return Err(format!(
                        "cannot overwrite directory {:?} with non-directory {:?}",
                        target, name
                    ));
                }
                std::fs::remove_file(&target).map_err(|e| e.to_string())?;
            }
        }
        if kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(|e| e.to_string())?
                .ok_or("hard link without a target")?
                .into_owned();
            let lrel = rebase(&link, from, to)
                .ok_or_else(|| format!("refusing hard link to {}", link.display()))?;
            std::fs::hard_link(dst_dir.join(lrel), &target).map_err(|e| e.to_string())?;
            continue;
        }
        entry
            .unpack(&target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn cp(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let (src, dst) = (&p.args[0], &p.args[1]);
    if src.is_empty() {
        return Err(CliError::msg("source can not be empty"));
    }
    if dst.is_empty() {
        return Err(CliError::msg("destination can not be empty"));
    }
    let quiet = p.bool("quiet") || !std::io::stderr().is_terminal();
    match (split_arg(src), split_arg(dst)) {
        ((Some(c), sp), (None, dp)) => from_container(ctx, c, sp, dp, p.bool("follow-link"), quiet),
        ((None, sp), (Some(c), dp)) => to_container(
            ctx,
            sp,
            c,
            dp,
            p.bool("follow-link"),
            p.bool("archive"),
            quiet,
        ),
        ((Some(_), _), (Some(_), _)) => {
            Err(CliError::msg("copying between containers is not supported"))
        }
        _ => Err(CliError::msg("must specify at least one container source")),
    }
}

fn from_container(
    ctx: &mut Ctx,
    container: &str,
    src: &str,
    dst: &str,
    follow: bool,
    quiet: bool,
) -> Result<(), CliError> {
    let dst = if dst == "-" {
        dst.to_string()
    } else {
        resolve_local(dst)
    };
    let mut src = src.to_string();
    let mut rebase_to: Option<String> = None;
    if follow {
        if let Ok(st) = stat_path(ctx, container, &src) {
            if st.mode & MODE_SYMLINK != 0 {
                let target = if st.link_target.starts_with('/') {
                    st.link_target.clone()
                } else {
                    format!("{}/{}", parent_dir(&src), st.link_target)
                };
                rebase_to = Some(base_name(&src));
                src = target;
            }
        }
    }
    let path = format!("/containers/{}/archive", path_escape(container));
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send(
                "GET",
                &path,
                &Query::new().add("path", src.clone()),
                &[],
                RequestBody::Empty,
            )
            .await?;
        if dst == "-" {
            return super::container::copy_to_stdout(&mut resp.body).await;
        }
        let st = decode_stat(resp.headers.get("X-Docker-Container-Path-Stat")).unwrap_or_default();
        let src_is_dir = st.mode & MODE_DIR != 0;
        let src_base = match &rebase_to {
            Some(_) => base_name(&src),
            None => {
                if st.name.is_empty() {
                    base_name(&src)
                } else {
                    st.name.clone()
                }
            }
        };
        let src_base = if src.ends_with("/.") {
            ".".to_string()
        } else {
            src_base
        };
        let dst_path = Path::new(dst.trim_end_matches("/.").trim_end_matches('/'));
        let dst_path = if dst_path.as_os_str().is_empty() {
            Path::new("/")
        } else {
            dst_path
        };
        let (dir, from, to) = match std::fs::metadata(dst_path) {
            Ok(m) if m.is_dir() => {
                let to = rebase_to.clone().unwrap_or_else(|| src_base.clone());
                (
                    dst_path.to_path_buf(),
                    src_base.clone(),
                    if src_base == "." { String::new() } else { to },
                )
            }
            Err(_) if src_base == "." => {
                // `SRC/.` to a new path: the directory is made and filled.
                std::fs::create_dir(dst_path).map_err(|e| {
                    CliError::msg(format!("mkdir {}: {}", dst_path.display(), io_msg(&e)))
                })?;
                (dst_path.to_path_buf(), src_base.clone(), String::new())
            }
            Ok(_) if src_is_dir => return Err(CliError::msg("cannot copy directory")),
            Ok(_) => (
                PathBuf::from(parent_dir(&dst)),
                src_base.clone(),
                base_name(&dst),
            ),
            Err(_) if dst.ends_with('/') => {
                return Err(CliError::msg("destination directory does not exist"))
            }
            Err(_) => {
                let parent = parent_dir(&dst);
                if !Path::new(&parent).is_dir() {
                    return Err(CliError::msg(format!(
                        "lstat {parent}: no such file or directory"
                    )));
                }
                (PathBuf::from(parent), src_base.clone(), base_name(&dst))
            }
        };
        let (reader, writer) = std::io::pipe().map_err(|e| CliError::msg(e.to_string()))?;
        let worker = std::thread::spawn(move || extract(reader, &dir, &from, &to));
        let mut w = smol::Unblock::new(writer);
        let copied = smol::io::copy(&mut resp.body, &mut w).await;
        let _ = w.flush().await;
        drop(w);
        let res = worker
            .join()
            .map_err(|_| CliError::msg("extraction failed"))?;
        let n = copied.map_err(|e| CliError::msg(e.to_string()))?;
        res.map_err(CliError::msg)?;
        if !quiet {
            errln(&format!(
                "Successfully copied {} to {dst}",
                human_size_prec(n as f64, 3)
            ));
        }
        Ok(())
    })
}

struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: std::io::Write> std::io::Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Write a tar of `src` (top entry named `name`) to `w`; returns the bytes written.
fn tar_source<W: std::io::Write>(
    w: W,
    src: &Path,
    name: &str,
    follow: bool,
) -> std::io::Result<u64> {
    let mut b = tar::Builder::new(Counting { inner: w, n: 0 });
    b.follow_symlinks(false);
    let meta = if follow {
        std::fs::metadata(src)?
    } else {
        std::fs::symlink_metadata(src)?
    };
    if meta.is_dir() {
        b.append_dir_all(name, src)?;
    } else if follow {
        b.append_path_with_name(std::fs::canonicalize(src)?, name)?;
    } else {
        b.append_path_with_name(src, name)?;
    }
    Ok(b.into_inner()?.n)
}

fn to_container(
    ctx: &mut Ctx,
    src: &str,
    container: &str,
    dst: &str,
    follow: bool,
    copy_uid: bool,
    quiet: bool,
) -> Result<(), CliError> {
    let mut dst_path = dst.to_string();
    let mut st = stat_path(ctx, container, &dst_path);
    if let Ok(s) = &st {
        if s.mode & MODE_SYMLINK != 0 {
            dst_path = if s.link_target.starts_with('/') {
                s.link_target.clone()
            } else {
                format!("{}/{}", parent_dir(dst), s.link_target)
            };
            st = stat_path(ctx, container, &dst_path);
        }
    }
    let (exists, is_dir) = match &st {
        Ok(s) => (true, s.mode & MODE_DIR != 0),
        Err(_) => (false, false),
    };
    let put = |ctx: &mut Ctx,
               dir: String,
               body: &mut (dyn smol::io::AsyncRead + Unpin + Send)|
     -> Result<(), CliError> {
        let q = Query::new()
            .add("path", dir)
            .add("noOverwriteDirNonDir", "true")
            .flag("copyUIDGID", copy_uid);
        let path = format!("/containers/{}/archive", path_escape(container));
        let api = ctx.api()?;
        block(async {
            let mut resp = api
                .send(
                    "PUT",
                    &path,
                    &q,
                    &[("Content-Type", "application/x-tar".into())],
                    RequestBody::Reader(body),
                )
                .await?;
            let _ = resp.body.drain(1 << 20).await;
            Ok::<(), CliError>(())
        })
    };
    if src == "-" {
        if !is_dir {
            return Err(CliError::msg(format!(
                "destination \"{container}:{dst}\" must be a directory"
            )));
        }
        let mut stdin = smol::Unblock::new(std::io::stdin());
        return put(ctx, dst_path, &mut stdin);
    }
    let src_abs = resolve_local(src);
    let src_clean = src_abs
        .trim_end_matches("/.")
        .trim_end_matches('/')
        .to_string();
    let src_clean = if src_clean.is_empty() {
        "/".to_string()
    } else {
        src_clean
    };
    let src_meta = std::fs::symlink_metadata(&src_clean)
        .map_err(|e| CliError::msg(format!("lstat {src_clean}: {}", io_msg(&e))))?;
    let src_is_dir = if follow {
        std::fs::metadata(&src_clean)
            .map(|m| m.is_dir())
            .unwrap_or(false)
    } else {
        src_meta.is_dir()
    };
    let (dir, name) = if exists && is_dir {
        (
            dst_path.clone(),
            if src_abs.ends_with("/.") {
                ".".to_string()
            } else {
                base_name(&src_clean)
            },
        )
    } else if exists {
        if src_is_dir {
            return Err(CliError::msg("cannot copy directory"));
        }
        (parent_dir(&dst_path), base_name(&dst_path))
    } else {
        if dst.ends_with('/') && !src_is_dir {
            return Err(CliError::msg("destination directory does not exist"));
        }
        (parent_dir(&dst_path), base_name(&dst_path))
    };
    let (reader, writer) = std::io::pipe().map_err(|e| CliError::msg(e.to_string()))?;
    let src_path = PathBuf::from(&src_clean);
    let worker = std::thread::spawn(move || tar_source(writer, &src_path, &name, follow));
    let mut body = smol::Unblock::new(reader);
    let res = put(ctx, dir, &mut body);
    let tarred = worker
        .join()
        .map_err(|_| CliError::msg("archiving failed"))?;
    res?;
    let n = tarred.map_err(|e| CliError::msg(e.to_string()))?;
    if !quiet {
        errln(&format!(
            "Successfully copied {} to {container}:{dst_path}",
            human_size_prec(n as f64, 3)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_arguments_split_like_docker() {
        assert_eq!(split_arg("c1:/data"), (Some("c1"), "/data"));
        assert_eq!(split_arg("/abs:x"), (None, "/abs:x"));
        assert_eq!(split_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_arg("local"), (None, "local"));
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("/a/b/."), ".");
        assert_eq!(parent_dir("/a/b"), "/a");
        assert_eq!(parent_dir("/a"), "/");
    }

    #[test]
    fn rebase_refuses_escapes() {
        assert_eq!(
            rebase(Path::new("data/x"), "data", "copy"),
            Some(PathBuf::from("copy/x"))
        );
        assert_eq!(rebase(Path::new("./x"), ".", ""), Some(PathBuf::from("x")));
        assert_eq!(
            rebase(Path::new("./x"), ".", "new"),
            Some(PathBuf::from("new/x"))
        );
        assert_eq!(rebase(Path::new("data/../../etc"), "data", "d"), None);
        assert_eq!(rebase(Path::new("/etc/passwd"), "data", "d"), None);
    }

    #[test]
    fn extraction_stays_inside() {
        let dir = std::env::temp_dir().join(format!("berth-cp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("out")).unwrap();
        // A symlink pointing outside, then a file "through" it: must not land outside.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, "data/evil", &dir).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "data/evil/pwned", &b"hi"[..])
            .unwrap();
        let data = b.into_inner().unwrap();
        let err = extract(&data[..], &dir.join("out"), "data", "copy").unwrap_err();
        assert!(err.contains("not a directory"), "{err}");
        assert!(!dir.join("pwned").exists());
        // An ordinary tree with a hard link, renamed at the top.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o640);
        b.append_data(&mut h, "data/a.txt", &b"abc"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "data/b.txt", "data/a.txt").unwrap();
        let data = b.into_inner().unwrap();
        extract(&data[..], &dir.join("out"), "data", "copy").unwrap();
        assert_eq!(std::fs::read(dir.join("out/copy/b.txt")).unwrap(), b"abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
