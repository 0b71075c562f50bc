//! The registry client library against the real registry: a download cut in the middle resumes
//! with a `Range` request; HTTPS with a CA from `certs.d` (refused without it; unchecked for an
//! insecure registry, as Docker does); names from a private hosts file; digests are
//! verified (a registry serving other bytes than it promised is caught).

mod common;
mod image_support;
mod registry_support;

use berth::image::reference::Reference;
use berth::image::registry::{AuthConfig, Message, Options, Progress, Service, StoreRef};
use berth::image::Store;
use common::{require_root, TestDir};
use image_support::*;
use registry_support::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn store(dir: &Path) -> StoreRef {
    Arc::new(Store::open(dir, Default::default()).unwrap())
}

fn service(dir: &Path, opts: Options) -> Service {
    Service::new(opts, &dir.join("distribution.json"))
}

fn messages(rx: smol::channel::Receiver<Message>) -> Vec<Message> {
    let mut v = Vec::new();
    while let Ok(m) = rx.try_recv() {
        v.push(m);
    }
    v
}

/// Push the small fixture to `domain/small:peer` from a fresh store.
fn push_small(t: &TestDir, domain: &str, opts: Options) {
    let s = store(&t.join("src-store"));
    s.store()
        .load(
            std::fs::File::open(fixture("docker-save-small.tar")).unwrap(),
            &mut |_| {},
        )
        .unwrap();
    s.store()
        .tag("small:peer", &format!("{domain}/small"), "peer")
        .unwrap();
    let svc = service(&t.join("src-store"), opts);
    let (p, rx) = Progress::channel();
    let repo = Reference::parse_normalized(&format!("{domain}/small")).unwrap();
    smol::block_on(svc.push(&s, &repo, "peer", AuthConfig::default(), &p)).unwrap();
    let m = messages(rx);
    assert!(
        m.iter()
            .any(|m| m.status.starts_with("peer: digest: sha256:")),
        "{m:?}"
    );
}

fn pull(
    svc: &Service,
    s: &StoreRef,
    name: &str,
) -> berth::base::Result<(berth::oci::image::Digest, Vec<Message>)> {
    let (p, rx) = Progress::channel();
    let r = Reference::parse_normalized(name).unwrap();
    let res = smol::block_on(async {
        let plan = svc.prepare_pull(&r, AuthConfig::default()).await?;
        svc.pull(s, plan, &p).await
    });
    res.map(|id| (id, messages(rx)))
}

/// A TCP proxy that cuts the first connection that has carried more than `cut_after` bytes
/// back to the client, and records what clients sent.
struct CuttingProxy {
    port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    cuts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl CuttingProxy {
    fn start(upstream: String, cut_after: usize) -> CuttingProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let cuts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (sent2, cuts2, stop2) = (sent.clone(), cuts.clone(), stop.clone());
        std::thread::spawn(move || {
            for c in l.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = c else { continue };
                let server = TcpStream::connect(&upstream).unwrap();
                let (mut c_rd, mut s_wr) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let sent3 = sent2.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = c_rd.read(&mut buf) {
                        if n == 0 || s_wr.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent3.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = s_wr.shutdown(std::net::Shutdown::Write);
                });
                let cuts3 = cuts2.clone();
                std::thread::spawn(move || {
                    let (mut s_rd, mut c_wr) = (server, client);
                    let mut buf = [0u8; 16384];
                    let mut total = 0usize;
                    while let Ok(n) = s_rd.read(&mut buf) {
                        if n == 0 || c_wr.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        total += n;
                        if total > cut_after && cuts3.load(Ordering::SeqCst) == 0 {
                            cuts3.fetch_add(1, Ordering::SeqCst);
                            let _ = c_wr.shutdown(std::net::Shutdown::Both);
                            let _ = s_rd.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                    }
                    let _ = c_wr.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CuttingProxy {
            port,
            sent,
            cuts,
            stop,
        }
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[test]
fn a_cut_download_resumes_with_a_range_request() {
    require_root();
    let t = TestDir::new("regc_resume");
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    push_small(&t, &reg.addr(), Options::default());
    let proxy = CuttingProxy::start(reg.addr(), 400 * 1024);
    let s = store(&t.join("dst-store"));
    let svc = service(
        &t.join("dst-store"),
        Options {
            max_downloads: 1,
            ..Default::default()
        },
    );
    let (id, msgs) = pull(&svc, &s, &format!("127.0.0.1:{}/small:peer", proxy.port)).unwrap();
    assert_eq!(id.as_str(), SMALL_ID);
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the proxy cut a download"
    );
    let sent = String::from_utf8_lossy(&proxy.sent.lock().unwrap()).into_owned();
    assert!(
        sent.contains("Range: bytes="),
        "the retry asked for the rest only"
    );
    assert!(
        msgs.iter().any(|m| m.status.starts_with("Retrying in")),
        "{msgs:?}"
    );
    assert!(
        s.store().check().unwrap().is_empty(),
        "{:?}",
        s.store().check().unwrap()
    );
}

fn openssl(args: &[&str], dir: &Path) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn https_with_a_ca_from_certs_d() {
    require_root();
    let t = TestDir::new("regc_tls");
    let pki = t.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=berth test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
        &pki,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
        ],
        &pki,
    );
    std::fs::write(
        pki.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:reg.berth.test\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "srv.crt",
        ],
        &pki,
    );
    // A TLS-only registry.
    let port = free_port();
    let dir = t.join("reg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.yml"),
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("storage").display(),
            pki.join("srv.crt").display(),
            pki.join("srv.key").display()
        ),
    )
    .unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _guard = common::ProcGuard::from_child(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "TLS registry did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // A name that is not loopback (from a private hosts file): a secure registry, whose
    // certificate must chain to a CA we trust.
    std::fs::write(t.join("hosts"), "127.0.0.1 reg.berth.test\n").unwrap();
    let resolver = berth::image::registry::resolve::Resolver {
        hosts_file: t.join("hosts"),
        ..Default::default()
    };
    let domain = format!("reg.berth.test:{port}");
    let certs = t.join("certs.d");
    std::fs::create_dir_all(certs.join(&domain)).unwrap();
    std::fs::copy(pki.join("ca.crt"), certs.join(&domain).join("ca.crt")).unwrap();
    let opts = Options {
        certs_dir: certs.clone(),
        resolver: resolver.clone(),
        ..Default::default()
    };
    push_small(&t, &domain, opts.clone());
    let s = store(&t.join("dst-store"));
    let (id, _) = pull(
        &service(&t.join("dst-store"), opts),
        &s,
        &format!("{domain}/small:peer"),
    )
    .unwrap();
    assert_eq!(id.as_str(), SMALL_ID);
    // Without the CA the certificate is refused, and a secure registry gets no plain HTTP retry.
    let s2 = store(&t.join("dst2-store"));
    let e = pull(
        &service(
            &t.join("dst2-store"),
            Options {
                certs_dir: t.join("empty"),
                resolver: resolver.clone(),
                ..Default::default()
            },
        ),
        &s2,
        &format!("{domain}/small:peer"),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("certificate")
            && e.to_string().contains(&format!("https://{domain}/v2/")),
        "{e}"
    );
    assert!(s2
        .store()
        .image(&berth::oci::image::Digest::parse(SMALL_ID).unwrap())
        .is_none());
    // An insecure registry (loopback, as Docker has it): TLS without certificate checks.
    let s3 = store(&t.join("dst3-store"));
    let (id, _) = pull(
        &service(
            &t.join("dst3-store"),
            Options {
                certs_dir: t.join("empty"),
                ..Default::default()
            },
        ),
        &s3,
        &format!("127.0.0.1:{port}/small:peer"),
    )
    .unwrap();
    assert_eq!(id.as_str(), SMALL_ID);
}

#[test]
fn a_registry_serving_wrong_bytes_is_caught() {
    require_root();
    let t = TestDir::new("regc_verify");
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    push_small(&t, &reg.addr(), Options::default());
    // Corrupt one layer blob in the registry's storage (same length, other bytes).
    let blobs = reg.dir.join("storage/docker/registry/v2/blobs/sha256");
    let mut biggest: Option<(u64, std::path::PathBuf)> = None;
    for a in std::fs::read_dir(&blobs).unwrap() {
        for b in std::fs::read_dir(a.unwrap().path()).unwrap() {
            let p = b.unwrap().path().join("data");
            let n = std::fs::metadata(&p).unwrap().len();
            if biggest.as_ref().map_or(true, |(m, _)| n > *m) {
                biggest = Some((n, p));
            }
        }
    }
    let (_, p) = biggest.unwrap();
    let mut data = std::fs::read(&p).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&p, data).unwrap();
    let s = store(&t.join("dst-store"));
    let e = pull(
        &service(&t.join("dst-store"), Options::default()),
        &s,
        &format!("{}/small:peer", reg.addr()),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("verification failed") || text.contains("extract layer"),
        "{text}"
    );
    assert!(s
        .store()
        .image(&berth::oci::image::Digest::parse(SMALL_ID).unwrap())
        .is_none());
    assert!(
        s.store().check().unwrap().is_empty(),
        "{:?}",
        s.store().check().unwrap()
    );
}
