//! OCI image-spec and Docker schema2 types (serde): descriptors, manifests, indexes, the image
//! config with Docker's extra fields, and the `Digest` and ChainID rules.
//!
//! The image ID is the digest of the config's *bytes*: callers keep the raw JSON and never
//! re-serialize a config they did not create. Struct field order follows the Go types, so the
//! JSON berth writes reads like Docker's.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;

use crate::base::{Error, Result};

pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const MEDIA_OCI_LAYER_NONDIST: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const MEDIA_OCI_LAYER_NONDIST_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const MEDIA_DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const MEDIA_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const MEDIA_DOCKER_LAYER_FOREIGN: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// `index.json` annotation holding the full image name (containerd, Docker 25+ save).
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// OCI `org.opencontainers.image.ref.name`: a tag (Docker) or a whole reference (skopeo).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

pub fn is_manifest_media(m: &str) -> bool {
    m == MEDIA_OCI_MANIFEST || m == MEDIA_DOCKER_MANIFEST
}

pub fn is_index_media(m: &str) -> bool {
    m == MEDIA_OCI_INDEX || m == MEDIA_DOCKER_MANIFEST_LIST
}

/// A content digest, `sha256:<64 lowercase hex>`. Only sha256 is accepted, as Docker does for
/// image IDs and layer diff IDs; anything else is an error at parse time.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Digest> {
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(Error::invalid(format!(
                "invalid checksum digest format: {s:?}"
            )));
        };
        if alg != "sha256" {
            if alg.is_empty()
                || !alg
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+._-".contains(&c))
            {
                return Err(Error::invalid(format!(
                    "invalid checksum digest format: {s:?}"
                )));
            }
            return Err(Error::invalid(format!(
                "unsupported digest algorithm: {s:?}"
            )));
        }
        Self::from_hex(hex).map_err(|_| {
            Error::invalid(format!(
                "invalid checksum digest length or characters: {s:?}"
            ))
        })
    }

    /// From the 64 hex characters alone (as in `blobs/sha256/<hex>` or a legacy `<hex>.json`).
    pub fn from_hex(hex: &str) -> Result<Digest> {
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return Err(Error::invalid(format!("invalid sha256 hex {hex:?}")));
        }
        Ok(Digest(format!("sha256:{hex}")))
    }

    /// The sha256 digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        Self::from_sha256(Sha256::digest(data).into())
    }

    pub fn from_sha256(raw: [u8; 32]) -> Digest {
        Digest(format!("sha256:{}", crate::base::id::hex(&raw)))
    }

    pub fn algorithm(&self) -> &str {
        "sha256"
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// The first 12 hex characters, as `docker images` shows IDs.
    pub fn short(&self) -> &str {
        &self.0[7..19]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// ChainIDs of a layer stack, per the image spec: `ChainID(L0) = DiffID(L0)`,
/// `ChainID(L0|...|Ln) = sha256(ChainID(L0|...|Ln-1) + " " + DiffID(Ln))`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(parent) => Digest::of(format!("{parent} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// The ChainID of the whole stack (None for an image without layers).
pub fn chain_id(diff_ids: &[Digest]) -> Option<Digest> {
    chain_ids(diff_ids).pop()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(default, rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: i64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            data: None,
            platform: None,
            artifact_type: None,
        }
    }
}

/// An image manifest (OCI or Docker schema2: the same shape).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index / Docker manifest list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub typ: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub empty_layer: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Docker's `container.Config`: the `config` (and legacy `container_config`) of an image.
/// Field order and omitempty rules follow the Go struct, so it serializes as Docker's API
/// (< 1.50) shows it. `Cmd`, `Entrypoint` and `Shell` accept a bare string, as Docker's
/// StrSlice does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "empty_map")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub open_stdin: bool,
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default, deserialize_with = "null_or_vec")]
    pub env: Option<Vec<String>>,
    #[serde(default, deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default, deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(default, deserialize_with = "null_or_vec")]
    pub on_build: Option<Vec<String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "str_slice"
    )]
    pub shell: Option<Vec<String>>,
}

fn empty_map<V>(m: &Option<BTreeMap<String, V>>) -> bool {
    m.as_ref().map_or(true, |m| m.is_empty())
}

fn null_or_vec<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    Option::<Vec<String>>::deserialize(d)
}

fn str_slice<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrSlice {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<StrSlice>::deserialize(d)? {
        None => None,
        Some(StrSlice::One(s)) => Some(vec![s]),
        Some(StrSlice::Many(v)) => Some(v),
    })
}

impl ContainerConfig {
    /// The API ≥ 1.50 shape (`DockerOCIImageConfig`): the OCI ImageConfig fields plus Docker's
    /// Healthcheck, OnBuild and Shell, each omitted when empty.
    pub fn to_oci_json(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        if !self.user.is_empty() {
            put("User", json!(self.user));
        }
        if let Some(p) = self.exposed_ports.as_ref().filter(|p| !p.is_empty()) {
            put(
                "ExposedPorts",
                json!(p
                    .keys()
                    .map(|k| (k.clone(), json!({})))
                    .collect::<Map<_, _>>()),
            );
        }
        for (k, v) in [
            ("Env", &self.env),
            ("Entrypoint", &self.entrypoint),
            ("Cmd", &self.cmd),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                put(k, json!(v));
            }
        }
        if let Some(v) = self.volumes.as_ref().filter(|v| !v.is_empty()) {
            put(
                "Volumes",
                json!(v
                    .keys()
                    .map(|k| (k.clone(), json!({})))
                    .collect::<Map<_, _>>()),
            );
        }
        if !self.working_dir.is_empty() {
            put("WorkingDir", json!(self.working_dir));
        }
        if let Some(l) = self.labels.as_ref().filter(|l| !l.is_empty()) {
            put("Labels", json!(l));
        }
        if !self.stop_signal.is_empty() {
            put("StopSignal", json!(self.stop_signal));
        }
        if self.args_escaped {
            put("ArgsEscaped", json!(true));
        }
        if let Some(h) = &self.healthcheck {
            put("Healthcheck", h.clone());
        }
        for (k, v) in [("OnBuild", &self.on_build), ("Shell", &self.shell)] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                put(k, json!(v));
            }
        }
        Value::Object(m)
    }
}

/// Docker's image JSON (`image.Image`): the OCI image config plus Docker's legacy fields.
/// Parsed for reading only; the image ID is the digest of the bytes it came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ContainerConfig>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(default, rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<RootFs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

impl ImageConfig {
    pub fn from_json(raw: &[u8]) -> Result<ImageConfig> {
        serde_json::from_slice(raw)
            .map_err(|e| Error::invalid(format!("invalid image config: {e}")))
    }

    /// Diff IDs of the layers, bottom first.
    pub fn diff_ids(&self) -> &[Digest] {
        self.rootfs
            .as_ref()
            .map(|r| r.diff_ids.as_slice())
            .unwrap_or(&[])
    }

    /// The OS, defaulting to linux as Docker does for images that omit it.
    pub fn os(&self) -> &str {
        if self.os.is_empty() {
            "linux"
        } else {
            &self.os
        }
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.config.as_ref().and_then(|c| c.labels.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_parse_and_reject() {
        let d = Digest::parse(
            "sha256:615df381971417291f223fd1a8933314dfb0734d4bec30db95b722557824ad65",
        )
        .unwrap();
        assert_eq!(d.short(), "615df3819714");
        assert_eq!(d.hex().len(), 64);
        assert!(Digest::parse(
            "sha256:615DF381971417291f223fd1a8933314dfb0734d4bec30db95b722557824ad65"
        )
        .is_err());
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(
            Digest::parse("615df381971417291f223fd1a8933314dfb0734d4bec30db95b722557824ad65")
                .is_err()
        );
        assert!(Digest::parse("sha512:00")
            .unwrap_err()
            .to_string()
            .contains("unsupported digest algorithm"));
        assert_eq!(
            Digest::of(b"").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let j: Digest = serde_json::from_str(
            "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"",
        )
        .unwrap();
        assert_eq!(j, Digest::of(b""));
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        // The small fixture's layers (shared/fixtures/README.md).
        let diff: Vec<Digest> = [
            "615df381971417291f223fd1a8933314dfb0734d4bec30db95b722557824ad65",
            "bd4c239716a068807092945f519a5e2546086891e290047fdfe60c5d46cd448b",
        ]
        .iter()
        .map(|h| Digest::from_hex(h).unwrap())
        .collect();
        let c = chain_ids(&diff);
        assert_eq!(c[0], diff[0]);
        let want = Digest::of(format!("{} {}", diff[0], diff[1]).as_bytes());
        assert_eq!(c[1], want);
        assert_eq!(chain_id(&diff), Some(want));
        assert_eq!(chain_id(&[]), None);
    }

    #[test]
    fn docker_config_parses_strslice_and_serializes_in_go_order() {
        let raw = br#"{"architecture":"amd64","config":{"Env":["A=1"],"Cmd":"sh","WorkingDir":"/data","Labels":{"x":"y"},"ExposedPorts":{"80/tcp":{}}},"os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[{"created":"2026-01-01T00:00:00Z","empty_layer":true}]}"#;
        let c = ImageConfig::from_json(raw).unwrap();
        let cc = c.config.as_ref().unwrap();
        assert_eq!(cc.cmd.as_deref(), Some(&["sh".to_string()][..]));
        let want: serde_json::Value = serde_json::from_str(r#"{"ExposedPorts":{"80/tcp":{}},"Env":["A=1"],"Cmd":["sh"],"WorkingDir":"/data","Labels":{"x":"y"}}"#).unwrap();
        assert_eq!(cc.to_oci_json(), want);
        let legacy = serde_json::to_string(cc).unwrap();
        assert!(
            legacy.starts_with(r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false"#),
            "{legacy}"
        );
        assert!(
            legacy.contains(
                r#""Image":"","Volumes":null,"WorkingDir":"/data","Entrypoint":null,"OnBuild":null"#
            ),
            "{legacy}"
        );
        assert!(c.history[0].empty_layer);
    }

    #[test]
    fn manifest_and_index_roundtrip() {
        let m = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#;
        let parsed: Manifest = serde_json::from_str(m).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), m);
        let i: Index = serde_json::from_str(r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":1,"annotations":{"org.opencontainers.image.ref.name":"small:peer"},"platform":{"architecture":"amd64","os":"linux"}}]}"#).unwrap();
        assert_eq!(
            i.manifests[0].annotations[ANNOTATION_REF_NAME],
            "small:peer"
        );
        assert_eq!(
            i.manifests[0].platform.as_ref().unwrap().architecture,
            "amd64"
        );
    }
}
