//! Engine API types as they go over the wire. Field names are the JSON names (Go's exported
//! names), so these structs read as the API reference does; `Deserialize` too, because the docker
//! client role decodes the same shapes from real dockerd.
#![allow(non_snake_case)]

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every error body: `{"message":"..."}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorResponse {
    pub message: String,
}

/// `GET /version`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Version {
    pub Platform: Platform,
    pub Components: Vec<ComponentVersion>,
    pub Version: String,
    pub ApiVersion: String,
    pub MinAPIVersion: String,
    pub GitCommit: String,
    pub GoVersion: String,
    pub Os: String,
    pub Arch: String,
    pub KernelVersion: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub Experimental: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub BuildTime: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Platform {
    pub Name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ComponentVersion {
    pub Name: String,
    pub Version: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub Details: BTreeMap<String, String>,
}

/// `GET /info` (API 1.50 shape; the handler drops or adds the version-gated fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Info {
    pub ID: String,
    pub Containers: i64,
    pub ContainersRunning: i64,
    pub ContainersPaused: i64,
    pub ContainersStopped: i64,
    pub Images: i64,
    pub Driver: String,
    pub DriverStatus: Vec<[String; 2]>,
    pub Plugins: PluginsInfo,
    pub MemoryLimit: bool,
    pub SwapLimit: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub KernelMemoryTCP: bool,
    pub CpuCfsPeriod: bool,
    pub CpuCfsQuota: bool,
    pub CPUShares: bool,
    pub CPUSet: bool,
    pub PidsLimit: bool,
    pub IPv4Forwarding: bool,
    /// Only below API 1.50 (always false there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub BridgeNfIptables: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub BridgeNfIp6tables: Option<bool>,
    pub Debug: bool,
    pub NFd: i64,
    pub OomKillDisable: bool,
    pub NGoroutines: i64,
    pub SystemTime: String,
    pub LoggingDriver: String,
    pub CgroupDriver: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub CgroupVersion: String,
    pub NEventsListener: i64,
    pub KernelVersion: String,
    pub OperatingSystem: String,
    pub OSVersion: String,
    pub OSType: String,
    pub Architecture: String,
    pub IndexServerAddress: String,
    pub RegistryConfig: Option<RegistryConfig>,
    pub NCPU: i64,
    pub MemTotal: i64,
    pub GenericResources: Option<Vec<serde_json::Value>>,
    pub DockerRootDir: String,
    pub HttpProxy: String,
    pub HttpsProxy: String,
    pub NoProxy: String,
    pub Name: String,
    pub Labels: Vec<String>,
    pub ExperimentalBuild: bool,
    pub ServerVersion: String,
    pub Runtimes: BTreeMap<String, Runtime>,
    pub DefaultRuntime: String,
    pub Swarm: SwarmInfo,
    pub LiveRestoreEnabled: bool,
    pub Isolation: String,
    pub InitBinary: String,
    pub ContainerdCommit: Commit,
    pub RuncCommit: Commit,
    pub InitCommit: Commit,
    pub SecurityOptions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub DefaultAddressPools: Vec<NetworkAddressPool>,
    /// API 1.49 and up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub FirewallBackend: Option<FirewallInfo>,
    pub CDISpecDirs: Vec<String>,
    /// API 1.46 and up, when a containerd is in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Containerd: Option<ContainerdInfo>,
    pub Warnings: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginsInfo {
    pub Volume: Vec<String>,
    pub Network: Vec<String>,
    pub Authorization: Option<Vec<String>>,
    pub Log: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistryConfig {
    /// Only below API 1.47 (null there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub AllowNondistributableArtifactsCIDRs: Option<Option<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub AllowNondistributableArtifactsHostnames: Option<Option<Vec<String>>>,
    pub InsecureRegistryCIDRs: Vec<String>,
    pub IndexConfigs: BTreeMap<String, IndexInfo>,
    pub Mirrors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexInfo {
    pub Name: String,
    pub Mirrors: Vec<String>,
    pub Secure: bool,
    pub Official: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Runtime {
    pub path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtimeArgs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SwarmInfo {
    pub NodeID: String,
    pub NodeAddr: String,
    pub LocalNodeState: String,
    pub ControlAvailable: bool,
    pub Error: String,
    pub RemoteManagers: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Commit {
    pub ID: String,
    /// Only below API 1.49.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Expected: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkAddressPool {
    pub Base: String,
    pub Size: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FirewallInfo {
    pub Driver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub Info: Vec<[String; 2]>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerdInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Address: String,
    pub Namespaces: ContainerdNamespaces,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerdNamespaces {
    pub Containers: String,
    pub Plugins: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gated_fields_vanish_when_unset() {
        let v = serde_json::to_value(Info::default()).unwrap();
        for gone in [
            "BridgeNfIptables",
            "FirewallBackend",
            "Containerd",
            "KernelMemoryTCP",
            "DefaultAddressPools",
        ] {
            assert!(v.get(gone).is_none(), "{gone} should be omitted");
        }
        assert!(v.get("Warnings").unwrap().is_null());
        assert_eq!(
            serde_json::to_string(&Commit {
                ID: "x".into(),
                Expected: None
            })
            .unwrap(),
            r#"{"ID":"x"}"#
        );
        let rc = RegistryConfig {
            AllowNondistributableArtifactsCIDRs: Some(None),
            ..Default::default()
        };
        assert!(serde_json::to_value(&rc)
            .unwrap()
            .get("AllowNondistributableArtifactsCIDRs")
            .unwrap()
            .is_null());
    }

    #[test]
    fn reads_real_dockerd_shapes() {
        // A trimmed `GET /info` of dockerd 20.10 (API 1.41).
        let raw = r#"{"ID":"2OEA:GM5V","Containers":0,"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"]],
            "Plugins":{"Volume":["local"],"Network":["bridge"],"Authorization":null,"Log":["json-file"]},
            "NCPU":2,"MemTotal":25276510208,"Runtimes":{"runc":{"path":"runc"}},
            "ContainerdCommit":{"ID":"1.6.20","Expected":"1.6.20"},"Warnings":null}"#;
        let i: Info = serde_json::from_str(raw).unwrap();
        assert_eq!(i.NCPU, 2);
        assert_eq!(i.DriverStatus[0][1], "extfs");
        assert_eq!(i.ContainerdCommit.Expected.as_deref(), Some("1.6.20"));
    }
}
