//! The container metadata store: one directory per container under `<data-root>/containers`.
//!
//! ```text
//! <data-root>/containers/<id>/
//!   config.v2.json     Record (format 1): config, state, name, image, paths; rewritten atomically
//!   hostconfig.json    HostConfig as the API gave it (after daemon defaults); atomically
//!   hostname hosts resolv.conf   bind-mounted at /etc/... in the container
//!   <id>-json.log      json-file log (written by the shim), rotated as <id>-json.log.1 ...
//! ```
//!
//! A directory without a readable config.v2.json is a create that did not finish (the record is
//! the last file written): it is removed when the store is opened. Names and ids are indexed in
//! memory; the record is the truth.

use super::state::State;
use crate::api::container::{Config, HostConfig, MountPoint};
use crate::base::error::Context;
use crate::base::fs::write_atomic;
use crate::base::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub const FORMAT: u32 = 1;
pub const CONFIG_FILE: &str = "config.v2.json";
pub const HOSTCONFIG_FILE: &str = "hostconfig.json";

/// Everything persisted about a container except its HostConfig.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Record {
    pub format: u32,
    pub id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// With the leading slash.
    pub name: String,
    pub path: String,
    pub args: Vec<String>,
    pub config: Config,
    /// The image ID (`sha256:…`).
    pub image: String,
    pub state: State,
    pub restart_count: i64,
    pub has_been_started_before: bool,
    /// Stopped by the user (stop/kill): restart policies other than `always` leave it alone.
    pub has_been_manually_stopped: bool,
    pub driver: String,
    pub platform: String,
    pub log_path: String,
    pub resolv_conf_path: String,
    pub hostname_path: String,
    pub hosts_path: String,
    pub mount_points: Vec<MountPoint>,
    #[serde(skip)]
    pub host_config: HostConfig,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            format: FORMAT,
            id: String::new(),
            created: String::new(),
            name: String::new(),
            path: String::new(),
            args: Vec::new(),
            config: Config::default(),
            image: String::new(),
            state: State::default(),
            restart_count: 0,
            has_been_started_before: false,
            has_been_manually_stopped: false,
            driver: String::new(),
            platform: "linux".into(),
            log_path: String::new(),
            resolv_conf_path: String::new(),
            hostname_path: String::new(),
            hosts_path: String::new(),
            mount_points: Vec::new(),
            host_config: HostConfig::default(),
        }
    }
}

/// hostconfig.json of a new record: its contents synced, its name made durable by the
/// directory sync that commits config.v2.json (`save_config`). A crash before that commit may
/// keep either name or both; without both it is a create that did not finish (`Store::open`).
pub fn save_host_config(dir: &Path, hc: &crate::api::container::HostConfig) -> Result<()> {
    replace(&dir.join(HOSTCONFIG_FILE), &serde_json::to_vec(hc)?, true)
}

/// config.v2.json of a new record (durable): written last, it commits the record.
fn save_config(dir: &Path, r: &Record) -> Result<()> {
    write_atomic(&dir.join(CONFIG_FILE), &serde_json::to_vec(r)?, 0o600)
}

/// Replace a file of an existing record: temp → fsync → rename. The directory is not synced
/// again (its entries exist since `save`): after a machine crash the rename may be lost and
/// the previous version found, which is a consistent record too; a daemon crash loses nothing.
///
/// `durable: false` skips the fsync: the record is still replaced whole (a daemon crash loses
/// nothing), but a machine crash may bring back the previous version.
fn replace(path: &Path, data: &[u8], durable: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = crate::base::fs::temp_sibling(path);
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        if durable {
            f.sync_data()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.ctx(|| format!("write {}", path.display()))
}

/// Save a change of an existing record; hostconfig.json only when it changed.
fn save_update(dir: &Path, r: &Record, host_config_changed: bool, durable: bool) -> Result<()> {
    if host_config_changed {
        replace(
            &dir.join(HOSTCONFIG_FILE),
            &serde_json::to_vec(&r.host_config)?,
            true,
        )?;
    }
    replace(&dir.join(CONFIG_FILE), &serde_json::to_vec(r)?, durable)
}

pub fn load(dir: &Path) -> Result<Record> {
    let raw = std::fs::read(dir.join(CONFIG_FILE))
        .ctx(|| format!("read {}", dir.join(CONFIG_FILE).display()))?;
    let mut r: Record = serde_json::from_slice(&raw)
        .ctx(|| format!("parse {}", dir.join(CONFIG_FILE).display()))?;
    if r.format > FORMAT {
        return Err(Error::invalid(format!(
            "{}: format {} is newer than this berth understands ({FORMAT})",
            dir.display(),
            r.format
        )));
    }
    let raw = std::fs::read(dir.join(HOSTCONFIG_FILE))
        .ctx(|| format!("read {}", dir.join(HOSTCONFIG_FILE).display()))?;
    r.host_config = serde_json::from_slice(&raw)
        .ctx(|| format!("parse {}", dir.join(HOSTCONFIG_FILE).display()))?;
    Ok(r)
}

/// Daemon-memory data of a running container (not persisted).
#[derive(Debug, Default)]
pub struct Live {
    /// Exec instances started in this container (ids).
    pub exec_ids: Vec<String>,
    /// Bumped on each start; a monitor only acts on the exit of its own generation.
    pub generation: u64,
    /// A stop/kill/rm is in progress: the exit is not a crash for the restart policy.
    pub stopping: bool,
    /// The health-check loop's stop signal.
    pub health_stop: Option<smol::channel::Sender<()>>,
    /// A pending restart (back-off timer) can be cancelled by dropping this.
    pub restart_cancel: Option<smol::channel::Sender<()>>,
    /// Runs that ended (exits and failed starts), for `wait?condition=next-exit`.
    pub exits: u64,
    /// The last restart back-off delay.
    pub backoff: Option<std::time::Duration>,
    /// A task made ahead of `start` (see `lifecycle::prepare`): when, as its token.
    pub prepared: Option<std::time::Instant>,
}

/// One container: its record (saved on every change) and the waiters for its changes.
#[derive(Debug)]
pub struct Container {
    pub id: String,
    pub dir: PathBuf,
    record: Mutex<Record>,
    live: Mutex<Live>,
    watchers: Mutex<Vec<smol::channel::Sender<()>>>,
    /// Serialises lifecycle operations (start, stop, kill, rm, pause...) on this container.
    pub op: smol::lock::Mutex<()>,
    /// Held while a task is made ahead of `start` (`lifecycle::prepare`), which does not take
    /// `op`: attach and wait must not queue behind it. Taken after `op`, never before.
    pub prep: smol::lock::Mutex<()>,
}

fn poisoned() -> Error {
    Error::internal("container state lock poisoned")
}

impl Container {
    pub fn new(dir: PathBuf, r: Record) -> Container {
        Container {
            id: r.id.clone(),
            dir,
            record: Mutex::new(r),
            live: Mutex::new(Live::default()),
            watchers: Mutex::new(Vec::new()),
            op: smol::lock::Mutex::new(()),
            prep: smol::lock::Mutex::new(()),
        }
    }

    /// A copy of the record.
    pub fn snapshot(&self) -> Record {
        match self.record.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Read a part of the record.
    pub fn with<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        match self.record.lock() {
            Ok(r) => f(&r),
            Err(p) => f(&p.into_inner()),
        }
    }

    pub fn live(&self) -> Result<MutexGuard<'_, Live>> {
        self.live.lock().map_err(|_| poisoned())
    }

    /// Change the record, save it durably, and wake everyone waiting for a change. On a save
    /// error the in-memory record keeps the change (the container did change) and the error is
    /// returned.
    pub fn update<T>(&self, f: impl FnOnce(&mut Record) -> T) -> Result<T> {
        self.update_with(true, f)
    }

    /// `update` without the fsync, for a change a machine crash may take back because no
    /// container survives one anyway: that it started (the previous record says "not running",
    /// which is what a reboot finds). Saves an fsync on the path of every start.
    pub fn update_volatile<T>(&self, f: impl FnOnce(&mut Record) -> T) -> Result<T> {
        self.update_with(false, f)
    }

    fn update_with<T>(&self, durable: bool, f: impl FnOnce(&mut Record) -> T) -> Result<T> {
        let (out, res) = {
            let mut r = self.record.lock().map_err(|_| poisoned())?;
            let before = r.host_config.clone();
            let out = f(&mut r);
            let changed = r.host_config != before;
            (out, save_update(&self.dir, &r, changed, durable))
        };
        self.notify();
        res.map(|_| out)
    }

    /// Wake waiters without a change on disk (e.g. a removal).
    pub fn notify(&self) {
        if let Ok(mut w) = self.watchers.lock() {
            for tx in w.drain(..) {
                let _ = tx.try_send(());
            }
        }
    }

    /// A receiver that gets a message at the next change. Register *before* checking the state
    /// so no change falls in between.
    pub fn watch(&self) -> smol::channel::Receiver<()> {
        let (tx, rx) = smol::channel::bounded(1);
        if let Ok(mut w) = self.watchers.lock() {
            w.push(tx);
        }
        rx
    }
}

#[derive(Debug, Default)]
struct Index {
    by_id: BTreeMap<String, Arc<Container>>,
    /// `/name` → id.
    names: BTreeMap<String, String>,
    /// Names reserved by creates in progress.
    reserved: BTreeMap<String, String>,
}

/// Every container of the daemon.
#[derive(Debug)]
pub struct Store {
    pub root: PathBuf,
    index: Mutex<Index>,
}

impl Store {
    /// Open `<data-root>/containers`, loading every record; unfinished creates are removed.
    pub fn open(root: &Path) -> Result<Store> {
        crate::base::fs::mkdir_all(root, 0o710)?;
        let mut index = Index::default();
        for e in std::fs::read_dir(root)
            .ctx(|| format!("read {}", root.display()))?
            .flatten()
        {
            let dir = e.path();
            if !dir.is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            // config.v2.json commits a record and hostconfig.json is never missing after:
            // without both, a create did not finish.
            if !dir.join(CONFIG_FILE).exists() || !dir.join(HOSTCONFIG_FILE).exists() {
                log::warn!("removing unfinished container directory {}", dir.display());
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            }
            match load(&dir) {
                Ok(r) if r.id == name => {
                    index.names.insert(r.name.clone(), r.id.clone());
                    index
                        .by_id
                        .insert(r.id.clone(), Arc::new(Container::new(dir, r)));
                }
                Ok(r) => log::error!(
                    "container directory {} holds the record of {}: skipped",
                    dir.display(),
                    r.id
                ),
                Err(e) => log::error!("failed to load container {name}: {e}"),
            }
        }
        Ok(Store {
            root: root.to_path_buf(),
            index: Mutex::new(index),
        })
    }

    fn index(&self) -> Result<MutexGuard<'_, Index>> {
        self.index.lock().map_err(|_| poisoned())
    }

    /// Docker's `GetContainer`: a full ID, a name (with or without `/`), or a unique ID prefix.
    pub fn get(&self, term: &str) -> Result<Arc<Container>> {
        if term.is_empty() {
            return Err(Error::invalid("No container name or ID supplied"));
        }
        let ix = self.index()?;
        if let Some(c) = ix.by_id.get(term) {
            return Ok(c.clone());
        }
        let name = if term.starts_with('/') {
            term.to_string()
        } else {
            format!("/{term}")
        };
        if let Some(c) = ix.names.get(&name).and_then(|id| ix.by_id.get(id)) {
            return Ok(c.clone());
        }
        if term.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut hits = ix
                .by_id
                .range(term.to_string()..)
                .take_while(|(k, _)| k.starts_with(term));
            if let Some((_, c)) = hits.next() {
                if hits.next().is_some() {
                    return Err(Error::invalid(format!(
                        "multiple IDs found with provided prefix: {term}"
                    )));
                }
                return Ok(c.clone());
            }
        }
        Err(no_such_container(term))
    }

    pub fn all(&self) -> Vec<Arc<Container>> {
        self.index()
            .map(|ix| ix.by_id.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.index().map(|ix| ix.by_id.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reserve `/name` for `id` (Docker's 409 wording on a conflict).
    pub fn reserve_name(&self, name: &str, id: &str) -> Result<()> {
        let mut ix = self.index()?;
        if let Some(other) = ix.names.get(name).or_else(|| ix.reserved.get(name)) {
            if other != id {
                return Err(Error::conflict(format!(
                    "Conflict. The container name \"{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
        }
        ix.reserved.insert(name.to_string(), id.to_string());
        Ok(())
    }

    pub fn release_name(&self, name: &str) {
        if let Ok(mut ix) = self.index() {
            ix.reserved.remove(name);
        }
    }

    pub fn name_taken(&self, name: &str) -> bool {
        self.index()
            .map(|ix| ix.names.contains_key(name) || ix.reserved.contains_key(name))
            .unwrap_or(true)
    }

    /// Commit a new container and index it: its name was reserved and its hostconfig.json
    /// written (`save_host_config`, alongside the create's other work); config.v2.json goes last.
    pub fn insert(&self, r: Record) -> Result<Arc<Container>> {
        let dir = self.root.join(&r.id);
        save_config(&dir, &r)?;
        let mut ix = self.index()?;
        ix.reserved.remove(&r.name);
        ix.names.insert(r.name.clone(), r.id.clone());
        let c = Arc::new(Container::new(dir, r));
        ix.by_id.insert(c.id.clone(), c.clone());
        Ok(c)
    }

    /// Forget a container and delete its directory (the caller made sure it is stopped and
    /// everything mounted from it is gone).
    pub fn remove(&self, c: &Container) -> Result<()> {
        {
            let mut ix = self.index()?;
            ix.by_id.remove(&c.id);
            let name = c.with(|r| r.name.clone());
            if ix.names.get(&name) == Some(&c.id) {
                ix.names.remove(&name);
            }
        }
        c.notify();
        match std::fs::remove_dir_all(&c.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::from(e).context(format!("remove {}", c.dir.display()))),
        }
    }

    /// Give a container a new name.
    pub fn rename(&self, c: &Container, new_name: &str) -> Result<()> {
        let old = c.with(|r| r.name.clone());
        if old == new_name {
            return Err(Error::invalid(format!(
                "Renaming a container with the same name as its current name"
            )));
        }
        self.reserve_name(new_name, &c.id)?;
        let res = c.update(|r| r.name = new_name.to_string());
        let mut ix = self.index()?;
        ix.reserved.remove(new_name);
        match res {
            Ok(()) => {
                ix.names.remove(&old);
                ix.names.insert(new_name.to_string(), c.id.clone());
                Ok(())
            }
            Err(e) => {
                drop(ix);
                let _ = c.update(|r| r.name = old.clone());
                Err(e)
            }
        }
    }
}

pub fn no_such_container(term: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("No such container: {term}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("berth-cstore-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    /// What create does: the directory and hostconfig.json, then the commit.
    fn insert(s: &Store, r: Record) -> Arc<Container> {
        let dir = s.root.join(&r.id);
        std::fs::create_dir_all(&dir).unwrap();
        save_host_config(&dir, &r.host_config).unwrap();
        s.insert(r).unwrap()
    }

    fn rec(id: &str, name: &str) -> Record {
        Record {
            id: id.into(),
            name: name.into(),
            created: crate::base::time::now_rfc3339(),
            ..Default::default()
        }
    }

    #[test]
    fn records_persist_and_reload() {
        let t = tmp("persist");
        let s = Store::open(&t).unwrap();
        let id = "a".repeat(64);
        s.reserve_name("/web", &id).unwrap();
        let mut r = rec(&id, "/web");
        r.host_config.NetworkMode = "none".into();
        let c = insert(&s, r);
        c.update(|r| r.state.exit_code = 3).unwrap();
        // An unfinished create (no record, or only its hostconfig.json) is cleaned up at open.
        std::fs::create_dir_all(t.join("b".repeat(64))).unwrap();
        std::fs::create_dir_all(t.join("c".repeat(64))).unwrap();
        save_host_config(&t.join("c".repeat(64)), &Default::default()).unwrap();
        // A crash before the directory sync may also keep config.v2.json's name alone.
        let d = t.join("d".repeat(64));
        std::fs::create_dir_all(&d).unwrap();
        let half = rec(&"d".repeat(64), "/half");
        save_host_config(&d, &half.host_config).unwrap();
        save_config(&d, &half).unwrap();
        std::fs::remove_file(d.join(HOSTCONFIG_FILE)).unwrap();
        let s2 = Store::open(&t).unwrap();
        assert!(!t.join("b".repeat(64)).exists());
        assert!(!t.join("c".repeat(64)).exists());
        assert!(!d.exists());
        assert!(s2.get("half").is_err());
        let c2 = s2.get("web").unwrap();
        let r = c2.snapshot();
        assert_eq!(
            (r.state.exit_code, r.host_config.NetworkMode.as_str()),
            (3, "none")
        );
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn lookup_by_id_name_and_prefix() {
        let t = tmp("lookup");
        let s = Store::open(&t).unwrap();
        let a = format!("abc1{}", "0".repeat(60));
        let b = format!("abc2{}", "0".repeat(60));
        for (id, n) in [(&a, "/one"), (&b, "/two")] {
            s.reserve_name(n, id).unwrap();
            insert(&s, rec(id, n));
        }
        assert_eq!(s.get(&a).unwrap().id, a);
        assert_eq!(s.get("/two").unwrap().id, b);
        assert_eq!(s.get("abc1").unwrap().id, a);
        assert_eq!(
            s.get("abc").unwrap_err().to_string(),
            "multiple IDs found with provided prefix: abc"
        );
        let e = s.get("nosuch").unwrap_err();
        assert_eq!(
            (e.kind(), e.to_string()),
            (ErrorKind::NotFound, "No such container: nosuch".to_string())
        );
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn names_conflict_and_rename() {
        let t = tmp("names");
        let s = Store::open(&t).unwrap();
        let a = "a".repeat(64);
        s.reserve_name("/x", &a).unwrap();
        let c = insert(&s, rec(&a, "/x"));
        let e = s.reserve_name("/x", &"b".repeat(64)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(
            e.to_string(),
            format!("Conflict. The container name \"/x\" is already in use by container \"{a}\". You have to remove (or rename) that container to be able to reuse that name.")
        );
        s.rename(&c, "/y").unwrap();
        assert!(s.get("x").is_err());
        assert_eq!(s.get("y").unwrap().id, a);
        s.reserve_name("/x", &"b".repeat(64)).unwrap();
        s.remove(&c).unwrap();
        assert!(s.get(&a).is_err());
        assert!(!t.join(&a).exists());
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn watchers_wake_on_update() {
        let t = tmp("watch");
        let s = Store::open(&t).unwrap();
        let a = "c".repeat(64);
        s.reserve_name("/w", &a).unwrap();
        let c = insert(&s, rec(&a, "/w"));
        let rx = c.watch();
        assert!(rx.try_recv().is_err());
        c.update(|r| r.restart_count += 1).unwrap();
        assert!(rx.try_recv().is_ok());
        std::fs::remove_dir_all(&t).unwrap();
    }
}
