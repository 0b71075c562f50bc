//! Manifests as the registry serves them: which kind a document is (image manifest, or manifest
//! list / OCI index), the platform choice for this host, and the schema2 manifest berth pushes,
//! serialized the way Docker writes it (three-space indent, Go field order) so a pushed manifest
//! of pulled layers keeps the digest it had.

use crate::base::{Error, Result};
use crate::oci::image::{
    Descriptor, Digest, Index, Manifest, MEDIA_DOCKER_CONFIG, MEDIA_DOCKER_LAYER_GZIP,
    MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_MANIFEST_LIST, MEDIA_OCI_CONFIG, MEDIA_OCI_INDEX,
    MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_MANIFEST,
};
use serde::Serialize;

/// A fetched manifest document.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // short-lived, one per fetch
pub enum Document {
    Image(Manifest),
    Index(Index),
}

/// Read a manifest document. The media type comes from the document itself, else from the
/// response's Content-Type.
pub fn parse(raw: &[u8], content_type: &str) -> Result<(Document, String)> {
    let v: serde_json::Value = serde_json::from_slice(raw)
        .map_err(|e| Error::invalid(format!("invalid manifest: {e}")))?;
    let media = v
        .get("mediaType")
        .and_then(|m| m.as_str())
        .filter(|m| !m.is_empty())
        .unwrap_or(content_type)
        .to_string();
    let schema = v.get("schemaVersion").and_then(|s| s.as_u64()).unwrap_or(0);
    if schema == 1 || media.starts_with("application/vnd.docker.distribution.manifest.v1") {
        return Err(Error::invalid(
            "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of the image to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.",
        ));
    }
    let is_index = media == MEDIA_DOCKER_MANIFEST_LIST
        || media == MEDIA_OCI_INDEX
        || (media.is_empty() && v.get("manifests").is_some());
    if is_index {
        let idx: Index = serde_json::from_value(v)
            .map_err(|e| Error::invalid(format!("invalid manifest list: {e}")))?;
        return Ok((Document::Index(idx), media));
    }
    if media == MEDIA_DOCKER_MANIFEST
        || media == MEDIA_OCI_MANIFEST
        || (media.is_empty() && v.get("config").is_some())
    {
        let m: Manifest = serde_json::from_value(v)
            .map_err(|e| Error::invalid(format!("invalid manifest: {e}")))?;
        return Ok((Document::Image(m), media));
    }
    Err(Error::invalid(format!(
        "unsupported manifest media type {media:?}"
    )))
}

/// The platform this daemon pulls for: linux and the host's architecture.
pub fn host_platform() -> (&'static str, &'static str) {
    ("linux", super::super::load::host_arch())
}

/// The entry of a manifest list for `os`/`arch`, as Docker picks it: an exact match (for arm,
/// preferring the host's variant), never an attestation entry (`unknown/unknown`).
pub fn select<'a>(index: &'a Index, os: &str, arch: &str) -> Result<&'a Descriptor> {
    let matching: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == os && p.architecture == arch)
        })
        .collect();
    let want_variant = match arch {
        "arm64" => "v8",
        "arm" => "v7",
        _ => "",
    };
    matching
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.variant == want_variant)
        })
        .or_else(|| matching.first())
        .copied()
        .ok_or_else(|| {
            Error::not_found(format!(
                "no matching manifest for {os}/{arch} in the manifest list entries"
            ))
        })
}

/// distribution's Descriptor field order: mediaType, size, digest.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushDescriptor<'a> {
    media_type: &'a str,
    size: i64,
    digest: &'a Digest,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushManifest<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: PushDescriptor<'a>,
    layers: Vec<PushDescriptor<'a>>,
}

/// One pushed layer blob.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub media_type: String,
    pub size: i64,
    pub digest: Digest,
}

/// The manifest for a config and layer blobs: Docker schema2 when every layer has a Docker
/// media type, else OCI (layers from an OCI image keep their types). Returns the bytes and the
/// media type.
pub fn build(
    config_digest: &Digest,
    config_size: i64,
    layers: &[LayerBlob],
) -> Result<(Vec<u8>, &'static str)> {
    let docker = layers
        .iter()
        .all(|l| l.media_type.starts_with("application/vnd.docker."));
    let (media, config_media) = if docker {
        (MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_CONFIG)
    } else {
        (MEDIA_OCI_MANIFEST, MEDIA_OCI_CONFIG)
    };
    let layer_media: Vec<&str> = layers
        .iter()
        .map(|l| {
            if !docker && l.media_type == MEDIA_DOCKER_LAYER_GZIP {
                MEDIA_OCI_LAYER_GZIP
            } else {
                l.media_type.as_str()
            }
        })
        .collect();
    let m = PushManifest {
        schema_version: 2,
        media_type: media,
        config: PushDescriptor {
            media_type: config_media,
            size: config_size,
            digest: config_digest,
        },
        layers: layers
            .iter()
            .zip(&layer_media)
            .map(|(l, m)| PushDescriptor {
                media_type: m,
                size: l.size,
                digest: &l.digest,
            })
            .collect(),
    };
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    m.serialize(&mut ser)
        .map_err(|e| Error::internal(format!("encode manifest: {e}")))?;
    Ok((out, media))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        Digest::of(&[n])
    }

    #[test]
    fn picks_the_host_platform() {
        let idx: Index = serde_json::from_value(serde_json::json!({
            "schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX,
            "manifests": [
                {"mediaType": MEDIA_OCI_MANIFEST, "digest": d(1).as_str(), "size": 1, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": MEDIA_OCI_MANIFEST, "digest": d(2).as_str(), "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
                {"mediaType": MEDIA_OCI_MANIFEST, "digest": d(3).as_str(), "size": 1, "platform": {"os": "unknown", "architecture": "unknown"}}
            ]
        }))
        .unwrap();
        assert_eq!(select(&idx, "linux", "amd64").unwrap().digest, d(2));
        assert_eq!(select(&idx, "linux", "arm64").unwrap().digest, d(1));
        assert_eq!(
            select(&idx, "linux", "s390x").unwrap_err().to_string(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );
        let raw = serde_json::to_vec(&idx).unwrap();
        assert!(matches!(parse(&raw, "").unwrap().0, Document::Index(_)));
        assert!(parse(
            br#"{"schemaVersion":1,"name":"x"}"#,
            "application/vnd.docker.distribution.manifest.v1+prettyjws"
        )
        .is_err());
        let oci = serde_json::json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST, "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": d(1).as_str(), "size": 1}, "layers": []});
        assert!(
            matches!(
                parse(&serde_json::to_vec(&oci).unwrap(), "").unwrap().0,
                Document::Image(_)
            ),
            "OCI manifests are not schema 1"
        );
    }

    #[test]
    fn builds_docker_shaped_manifests() {
        let layers = vec![LayerBlob {
            media_type: MEDIA_DOCKER_LAYER_GZIP.into(),
            size: 10,
            digest: d(5),
        }];
        let (raw, media) = build(&d(4), 3, &layers).unwrap();
        assert_eq!(media, MEDIA_DOCKER_MANIFEST);
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.starts_with("{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n   \"config\": {\n      \"mediaType\""), "{text}");
        assert!(
            text.contains("\"size\": 10,\n         \"digest\""),
            "{text}"
        );
        match parse(&raw, "").unwrap().0 {
            Document::Image(m) => assert_eq!(m.layers[0].digest, d(5)),
            other => panic!("{other:?}"),
        }
        let zstd = vec![LayerBlob {
            media_type: crate::oci::image::MEDIA_OCI_LAYER_ZSTD.into(),
            size: 1,
            digest: d(6),
        }];
        assert_eq!(build(&d(4), 3, &zstd).unwrap().1, MEDIA_OCI_MANIFEST);
    }
}
