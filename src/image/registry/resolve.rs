//! Host name resolution without libc: berth is a static glibc binary, which cannot load NSS
//! modules, so `getaddrinfo` is off limits. Order as glibc's default `hosts: files dns`:
//! numeric addresses, then `/etc/hosts`, then DNS queries (A, then AAAA) over UDP to the
//! nameservers of `/etc/resolv.conf`, honouring `search`, `ndots`, `timeout` and `attempts`.
//!
//! The DNS part is a sans-IO query builder and answer parser (RFC 1035 section 4) plus a small
//! async loop that sends a query and waits for the matching answer.

use crate::base::{Error, Result};
use async_io::{Async, Timer};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

/// What `/etc/resolv.conf` says (the parts we use).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub ndots: usize,
    pub timeout: Duration,
    pub attempts: usize,
}

impl Default for ResolvConf {
    fn default() -> Self {
        // glibc's defaults when the file is missing: the local resolver, ndots 1, 5 s, 2 tries.
        ResolvConf {
            nameservers: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut rc = ResolvConf {
        nameservers: Vec::new(),
        ..Default::default()
    };
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                // A scoped IPv6 address (fe80::1%eth0) cannot be used without the scope id: skip.
                if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) {
                    if rc.nameservers.len() < 3 {
                        rc.nameservers.push(ip);
                    }
                }
            }
            Some("search") => {
                rc.search = words.map(|w| w.trim_end_matches('.').to_string()).collect()
            }
            Some("domain") => {
                if let Some(d) = words.next() {
                    rc.search = vec![d.trim_end_matches('.').to_string()];
                }
            }
            Some("options") => {
                for o in words {
                    let (k, v) = o.split_once(':').unwrap_or((o, ""));
                    let n = v.parse::<u64>().ok();
                    match (k, n) {
                        ("ndots", Some(n)) => rc.ndots = n.min(15) as usize,
                        ("timeout", Some(n)) => rc.timeout = Duration::from_secs(n.clamp(1, 30)),
                        ("attempts", Some(n)) => rc.attempts = n.clamp(1, 5) as usize,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if rc.nameservers.is_empty() {
        rc.nameservers = ResolvConf::default().nameservers;
    }
    rc
}

/// Addresses `/etc/hosts` gives for `name` (case-insensitive), in file order.
pub fn lookup_hosts(text: &str, name: &str) -> Vec<IpAddr> {
    let name = name.trim_end_matches('.');
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) else {
            continue;
        };
        if words.any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(name)) && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;

/// A DNS query for `name` (no trailing dot needed) of `qtype`, recursion desired.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(Error::invalid(format!("invalid host name {name:?}")));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    if q.len() > 12 + 255 + 4 {
        return Err(Error::invalid(format!("host name {name:?} is too long")));
    }
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Ok(q)
}

/// What an answer says.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// Addresses of the asked type (possibly none: the name exists without such records).
    Addrs(Vec<IpAddr>),
    /// NXDOMAIN: no such name.
    NoSuchName,
    /// The answer was cut (TC bit); the caller may try another way.
    Truncated,
    /// SERVFAIL, REFUSED and the like: ask another server.
    ServerError(u8),
}

fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *msg.get(pos)? as usize;
        match len & 0xc0 {
            0xc0 => return Some(pos + 2), // a compression pointer ends the name
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => pos += 1 + len,
            _ => return None,
        }
    }
}

fn be16(msg: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]))
}

/// Parse an answer to the query `id` of `qtype`. None when the message is not a well-formed
/// answer to that query (a stray or spoofed datagram: keep waiting).
pub fn parse_answer(msg: &[u8], id: u16, qtype: u16) -> Option<Answer> {
    if msg.len() < 12 || be16(msg, 0)? != id || msg[2] & 0x80 == 0 {
        return None;
    }
    if msg[2] & 0x02 != 0 {
        return Some(Answer::Truncated);
    }
    match msg[3] & 0x0f {
        0 => {}
        3 => return Some(Answer::NoSuchName),
        r => return Some(Answer::ServerError(r)),
    }
    let qd = be16(msg, 4)?;
    let an = be16(msg, 6)?;
    let mut pos = 12;
    for _ in 0..qd {
        pos = skip_name(msg, pos)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        pos = skip_name(msg, pos)?;
        let typ = be16(msg, pos)?;
        let class = be16(msg, pos + 2)?;
        let rdlen = be16(msg, pos + 8)? as usize;
        let rdata = msg.get(pos + 10..pos + 10 + rdlen)?;
        pos += 10 + rdlen;
        if class != 1 || typ != qtype {
            continue; // CNAMEs in the chain: the resolver also sends the final records
        }
        match (typ, rdata.len()) {
            (TYPE_A, 4) => out.push(IpAddr::V4(Ipv4Addr::new(
                rdata[0], rdata[1], rdata[2], rdata[3],
            ))),
            (TYPE_AAAA, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                out.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => {}
        }
    }
    Some(Answer::Addrs(out))
}

/// The resolver: where its files are (tests point them elsewhere).
#[derive(Debug, Clone)]
pub struct Resolver {
    pub hosts_file: PathBuf,
    pub resolv_conf: PathBuf,
    /// The DNS port (53; tests use a server on another port).
    pub dns_port: u16,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver {
            hosts_file: "/etc/hosts".into(),
            resolv_conf: "/etc/resolv.conf".into(),
            dns_port: 53,
        }
    }
}

fn query_id() -> u16 {
    let hex = crate::base::id::random_hex_id();
    u16::from_str_radix(&hex[..4], 16).unwrap_or(0x4242)
}

impl Resolver {
    /// Every address of `host`, IPv4 first. `host` may be a numeric address (IPv6 with or
    /// without brackets).
    pub async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let hosts = std::fs::read_to_string(&self.hosts_file).unwrap_or_default();
        let mut found = lookup_hosts(&hosts, host);
        if found.is_empty() && host.eq_ignore_ascii_case("localhost") {
            found = vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ];
        }
        if !found.is_empty() {
            found.sort_by_key(|ip| ip.is_ipv6());
            return Ok(found);
        }
        let rc = parse_resolv_conf(&std::fs::read_to_string(&self.resolv_conf).unwrap_or_default());
        self.query_dns(&rc, host).await
    }

    async fn query_dns(&self, rc: &ResolvConf, host: &str) -> Result<Vec<IpAddr>> {
        let not_found = || Error::not_found(format!("lookup {host}: no such host"));
        let mut names = Vec::new();
        if host.ends_with('.') {
            names.push(host.trim_end_matches('.').to_string());
        } else {
            let with_search: Vec<String> =
                rc.search.iter().map(|d| format!("{host}.{d}")).collect();
            if host.matches('.').count() >= rc.ndots {
                names.push(host.to_string());
                names.extend(with_search);
            } else {
                names.extend(with_search);
                names.push(host.to_string());
            }
        }
        let mut last_err: Option<Error> = None;
        for name in &names {
            let mut addrs = Vec::new();
            let mut exists = false;
            for qtype in [TYPE_A, TYPE_AAAA] {
                match self.ask(rc, name, qtype).await {
                    Ok(Answer::Addrs(a)) => {
                        exists = true;
                        addrs.extend(a);
                    }
                    Ok(Answer::NoSuchName) => break,
                    Ok(other) => {
                        last_err = Some(Error::new(
                            crate::base::ErrorKind::Unavailable,
                            format!("lookup {host}: {other:?}"),
                        ))
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            if !addrs.is_empty() {
                return Ok(addrs);
            }
            if exists {
                return Err(not_found());
            }
        }
        Err(last_err.unwrap_or_else(not_found))
    }

    /// One question to the nameservers in turn, `attempts` rounds, `timeout` each.
    async fn ask(&self, rc: &ResolvConf, name: &str, qtype: u16) -> Result<Answer> {
        let mut last = Error::new(
            crate::base::ErrorKind::Unavailable,
            format!("lookup {name}: no nameserver answered"),
        );
        for _ in 0..rc.attempts {
            for ns in &rc.nameservers {
                let server = SocketAddr::new(*ns, self.dns_port);
                match self.ask_one(server, name, qtype, rc.timeout).await {
                    Ok(Answer::ServerError(r)) => {
                        last = Error::new(
                            crate::base::ErrorKind::Unavailable,
                            format!("lookup {name} on {server}: server failure (rcode {r})"),
                        )
                    }
                    Ok(a) => return Ok(a),
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }

    async fn ask_one(
        &self,
        server: SocketAddr,
        name: &str,
        qtype: u16,
        timeout: Duration,
    ) -> Result<Answer> {
        let ctx = || format!("lookup {name} on {server}");
        let bind: SocketAddr = if server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = Async::<UdpSocket>::bind(bind).map_err(|e| Error::from(e).context(ctx()))?;
        sock.get_ref()
            .connect(server)
            .map_err(|e| Error::from(e).context(ctx()))?;
        let id = query_id();
        let q = build_query(id, name, qtype)?;
        sock.send(&q)
            .await
            .map_err(|e| Error::from(e).context(ctx()))?;
        let wait = async {
            let mut buf = vec![0u8; 1500];
            loop {
                let n = sock
                    .recv(&mut buf)
                    .await
                    .map_err(|e| Error::from(e).context(ctx()))?;
                if let Some(a) = parse_answer(&buf[..n], id, qtype) {
                    return Ok(a);
                }
            }
        };
        let timer = async {
            Timer::after(timeout).await;
            Err(Error::new(
                crate::base::ErrorKind::Unavailable,
                format!("{}: i/o timeout", ctx()),
            ))
        };
        smol::future::or(wait, timer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_and_hosts() {
        let rc = parse_resolv_conf("# c\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver ::1\nsearch a.example b.example.\noptions ndots:2 timeout:1 attempts:3 rotate\n");
        assert_eq!(
            rc.nameservers,
            vec![
                "10.0.0.2".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(rc.search, ["a.example", "b.example"]);
        assert_eq!(
            (rc.ndots, rc.timeout, rc.attempts),
            (2, Duration::from_secs(1), 3)
        );
        assert_eq!(
            parse_resolv_conf("").nameservers,
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        );
        let hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.1.2.3 Reg.Internal reg # comment\n#10.9.9.9 reg\n";
        assert_eq!(
            lookup_hosts(hosts, "reg.internal"),
            vec!["10.1.2.3".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            lookup_hosts(hosts, "reg."),
            vec!["10.1.2.3".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(lookup_hosts(hosts, "localhost").len(), 2);
        assert!(lookup_hosts(hosts, "nosuch").is_empty());
    }

    fn answer(id: u16, name: &str, records: &[(u16, &[u8])], rcode: u8) -> Vec<u8> {
        let mut m = build_query(id, name, TYPE_A).unwrap();
        m[2] = 0x81;
        m[3] = 0x80 | rcode;
        m[7] = records.len() as u8;
        for (typ, data) in records {
            m.extend_from_slice(&[0xc0, 12]); // pointer to the question's name
            m.extend_from_slice(&typ.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }

    #[test]
    fn queries_and_answers() {
        let q = build_query(0x1234, "reg.example", TYPE_A).unwrap();
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..], b"\x03reg\x07example\x00\x00\x01\x00\x01");
        assert!(build_query(1, "a..b", TYPE_A).is_err());
        let cname = b"\x03cdn\xc0\x10";
        let m = answer(
            7,
            "reg.example",
            &[
                (TYPE_CNAME, cname),
                (TYPE_A, &[192, 0, 2, 7]),
                (TYPE_A, &[192, 0, 2, 8]),
            ],
            0,
        );
        assert_eq!(
            parse_answer(&m, 7, TYPE_A),
            Some(Answer::Addrs(vec![
                "192.0.2.7".parse().unwrap(),
                "192.0.2.8".parse().unwrap()
            ]))
        );
        assert_eq!(parse_answer(&m, 8, TYPE_A), None, "another query's id");
        assert_eq!(
            parse_answer(&answer(7, "x", &[], 3), 7, TYPE_A),
            Some(Answer::NoSuchName)
        );
        assert_eq!(
            parse_answer(&answer(7, "x", &[], 2), 7, TYPE_A),
            Some(Answer::ServerError(2))
        );
        assert_eq!(
            parse_answer(&m[..m.len() - 2], 7, TYPE_A),
            None,
            "cut short"
        );
    }

    #[test]
    fn resolves_through_a_dns_server_on_loopback() {
        // A one-shot DNS server on 127.0.0.1 that answers A queries for reg.test.
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            for _ in 0..2 {
                let (n, peer) = server.recv_from(&mut buf).unwrap();
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                let qtype = u16::from_be_bytes([buf[n - 4], buf[n - 3]]);
                let reply = if qtype == TYPE_A {
                    answer(id, "reg.test", &[(TYPE_A, &[127, 0, 0, 9])], 0)
                } else {
                    let mut r = answer(id, "reg.test", &[], 0);
                    r[n - 3] = TYPE_AAAA as u8;
                    r
                };
                server.send_to(&reply, peer).unwrap();
            }
        });
        let dir = std::env::temp_dir().join(format!("berth-resolve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("hosts"),
            "127.0.0.1 localhost\n127.0.0.5 pinned.test\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n",
        )
        .unwrap();
        let r = Resolver {
            hosts_file: dir.join("hosts"),
            resolv_conf: dir.join("resolv.conf"),
            dns_port: port,
        };
        smol::block_on(async {
            assert_eq!(
                r.resolve("127.0.0.1").await.unwrap(),
                vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
            );
            assert_eq!(
                r.resolve("[::1]").await.unwrap(),
                vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]
            );
            assert_eq!(
                r.resolve("pinned.test").await.unwrap(),
                vec!["127.0.0.5".parse::<IpAddr>().unwrap()]
            );
            assert_eq!(
                r.resolve("reg.test").await.unwrap(),
                vec!["127.0.0.9".parse::<IpAddr>().unwrap()]
            );
        });
        t.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
