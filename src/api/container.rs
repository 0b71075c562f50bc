//! Engine API container types: what `POST /containers/create` reads, what inspect and
//! `/containers/json` write, and the bodies of wait, update, exec, top, prune and events.
//!
//! Field names are the JSON names (Go's exported names). Go writes a nil slice or map as `null`
//! and an empty one as `[]`/`{}`; clients compare both (the CLI prints `<nil>`, docker-py tests
//! `is None`), so such fields are `Option<Vec<_>>`/`Option<BTreeMap<_>>` here and round-trip
//! exactly. `omitempty` fields carry `skip_serializing_if`. Version-gated fields are dropped by
//! the handlers ([`InspectResponse::gate`], [`Summary::gate`]) as the API changelog says.
#![allow(non_snake_case)]

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::ApiVersion;

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}
fn is_none_or_empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(|v| v.is_empty())
}
fn is_none_or_empty_map<V>(v: &Option<BTreeMap<String, V>>) -> bool {
    v.as_ref().is_none_or(|v| v.is_empty())
}

/// Docker's `StrSlice`: a JSON string or an array of strings (or null).
pub fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<S>::deserialize(d)? {
        None => None,
        Some(S::One(s)) => Some(vec![s]),
        Some(S::Many(v)) => Some(v),
    })
}

/// Go decodes `null` into a zero value: accept null for plain fields.
fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `HEALTHCHECK` settings; durations are nanoseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HealthConfig {
    #[serde(
        skip_serializing_if = "is_none_or_empty",
        deserialize_with = "str_slice"
    )]
    pub Test: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub Interval: i64,
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub Timeout: i64,
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub StartPeriod: i64,
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub StartInterval: i64,
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub Retries: i64,
}

/// Docker's `container.Config`: the portable part of a container's configuration (and the
/// `Config` of an image, which is the template it is merged with).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    #[serde(deserialize_with = "null_default")]
    pub Hostname: String,
    #[serde(deserialize_with = "null_default")]
    pub Domainname: String,
    #[serde(deserialize_with = "null_default")]
    pub User: String,
    #[serde(deserialize_with = "null_default")]
    pub AttachStdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub AttachStdout: bool,
    #[serde(deserialize_with = "null_default")]
    pub AttachStderr: bool,
    #[serde(skip_serializing_if = "is_none_or_empty_map")]
    pub ExposedPorts: Option<BTreeMap<String, Value>>,
    #[serde(deserialize_with = "null_default")]
    pub Tty: bool,
    #[serde(deserialize_with = "null_default")]
    pub OpenStdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub StdinOnce: bool,
    pub Env: Option<Vec<String>>,
    #[serde(deserialize_with = "str_slice")]
    pub Cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Healthcheck: Option<HealthConfig>,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub ArgsEscaped: bool,
    #[serde(deserialize_with = "null_default")]
    pub Image: String,
    pub Volumes: Option<BTreeMap<String, Value>>,
    #[serde(deserialize_with = "null_default")]
    pub WorkingDir: String,
    #[serde(deserialize_with = "str_slice")]
    pub Entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub NetworkDisabled: bool,
    /// Deprecated since API 1.44 (the endpoint's MacAddress replaces it); omitted when empty.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub MacAddress: String,
    #[serde(skip_serializing_if = "is_none_or_empty")]
    pub OnBuild: Option<Vec<String>>,
    pub Labels: Option<BTreeMap<String, String>>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub StopSignal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub StopTimeout: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "str_slice"
    )]
    pub Shell: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LogConfig {
    #[serde(deserialize_with = "null_default")]
    pub Type: String,
    pub Config: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RestartPolicy {
    /// `""`/`no`, `always`, `on-failure`, `unless-stopped`.
    #[serde(deserialize_with = "null_default")]
    pub Name: String,
    #[serde(deserialize_with = "null_default")]
    pub MaximumRetryCount: i64,
}

impl RestartPolicy {
    pub fn is_none(&self) -> bool {
        self.Name.is_empty() || self.Name == "no"
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct PortBinding {
    #[serde(deserialize_with = "null_default")]
    pub HostIp: String,
    #[serde(deserialize_with = "null_default")]
    pub HostPort: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DeviceMapping {
    pub PathOnHost: String,
    pub PathInContainer: String,
    pub CgroupPermissions: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct WeightDevice {
    pub Path: String,
    pub Weight: u16,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ThrottleDevice {
    pub Path: String,
    pub Rate: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Ulimit {
    pub Name: String,
    pub Hard: i64,
    pub Soft: i64,
}

/// Cgroup limits (`HostConfig` embeds these; `POST /containers/{id}/update` takes them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Resources {
    #[serde(deserialize_with = "null_default")]
    pub CpuShares: i64,
    #[serde(deserialize_with = "null_default")]
    pub Memory: i64,
    #[serde(deserialize_with = "null_default")]
    pub NanoCpus: i64,
    #[serde(deserialize_with = "null_default")]
    pub CgroupParent: String,
    #[serde(deserialize_with = "null_default")]
    pub BlkioWeight: u16,
    pub BlkioWeightDevice: Option<Vec<WeightDevice>>,
    pub BlkioDeviceReadBps: Option<Vec<ThrottleDevice>>,
    pub BlkioDeviceWriteBps: Option<Vec<ThrottleDevice>>,
    pub BlkioDeviceReadIOps: Option<Vec<ThrottleDevice>>,
    pub BlkioDeviceWriteIOps: Option<Vec<ThrottleDevice>>,
    #[serde(deserialize_with = "null_default")]
    pub CpuPeriod: i64,
    #[serde(deserialize_with = "null_default")]
    pub CpuQuota: i64,
    #[serde(deserialize_with = "null_default")]
    pub CpuRealtimePeriod: i64,
    #[serde(deserialize_with = "null_default")]
    pub CpuRealtimeRuntime: i64,
    #[serde(deserialize_with = "null_default")]
    pub CpusetCpus: String,
    #[serde(deserialize_with = "null_default")]
    pub CpusetMems: String,
    pub Devices: Option<Vec<DeviceMapping>>,
    pub DeviceCgroupRules: Option<Vec<String>>,
    pub DeviceRequests: Option<Vec<Value>>,
    /// Ignored from API 1.42 on; shown only when set.
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub KernelMemory: i64,
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub KernelMemoryTCP: i64,
    #[serde(deserialize_with = "null_default")]
    pub MemoryReservation: i64,
    #[serde(deserialize_with = "null_default")]
    pub MemorySwap: i64,
    pub MemorySwappiness: Option<i64>,
    pub OomKillDisable: Option<bool>,
    pub PidsLimit: Option<i64>,
    pub Ulimits: Option<Vec<Ulimit>>,
    #[serde(deserialize_with = "null_default")]
    pub CpuCount: i64,
    #[serde(deserialize_with = "null_default")]
    pub CpuPercent: i64,
    #[serde(deserialize_with = "null_default")]
    pub IOMaximumIOps: u64,
    #[serde(deserialize_with = "null_default")]
    pub IOMaximumBandwidth: u64,
}

/// One `--mount`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Mount {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub ReadOnly: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Consistency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub BindOptions: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub VolumeOptions: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub TmpfsOptions: Option<TmpfsOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ImageOptions: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BindOptions {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Propagation: String,
    #[serde(skip_serializing_if = "is_false")]
    pub NonRecursive: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub CreateMountpoint: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub ReadOnlyNonRecursive: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub ReadOnlyForceRecursive: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TmpfsOptions {
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub SizeBytes: i64,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub Mode: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Options: Option<Vec<Vec<String>>>,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// Docker's `container.HostConfig`: the non-portable part.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct HostConfig {
    pub Binds: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub ContainerIDFile: String,
    #[serde(deserialize_with = "null_default")]
    pub LogConfig: LogConfig,
    #[serde(deserialize_with = "null_default")]
    pub NetworkMode: String,
    pub PortBindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    #[serde(deserialize_with = "null_default")]
    pub RestartPolicy: RestartPolicy,
    #[serde(deserialize_with = "null_default")]
    pub AutoRemove: bool,
    #[serde(deserialize_with = "null_default")]
    pub VolumeDriver: String,
    pub VolumesFrom: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub ConsoleSize: [u32; 2],
    #[serde(skip_serializing_if = "is_none_or_empty_map")]
    pub Annotations: Option<BTreeMap<String, String>>,
    pub CapAdd: Option<Vec<String>>,
    pub CapDrop: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub CgroupnsMode: String,
    pub Dns: Option<Vec<String>>,
    pub DnsOptions: Option<Vec<String>>,
    pub DnsSearch: Option<Vec<String>>,
    pub ExtraHosts: Option<Vec<String>>,
    pub GroupAdd: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub IpcMode: String,
    #[serde(deserialize_with = "null_default")]
    pub Cgroup: String,
    pub Links: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub OomScoreAdj: i64,
    #[serde(deserialize_with = "null_default")]
    pub PidMode: String,
    #[serde(deserialize_with = "null_default")]
    pub Privileged: bool,
    #[serde(deserialize_with = "null_default")]
    pub PublishAllPorts: bool,
    #[serde(deserialize_with = "null_default")]
    pub ReadonlyRootfs: bool,
    pub SecurityOpt: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_none_or_empty_map")]
    pub StorageOpt: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "is_none_or_empty_map")]
    pub Tmpfs: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "null_default")]
    pub UTSMode: String,
    #[serde(deserialize_with = "null_default")]
    pub UsernsMode: String,
    #[serde(deserialize_with = "null_default")]
    pub ShmSize: i64,
    #[serde(skip_serializing_if = "is_none_or_empty_map")]
    pub Sysctls: Option<BTreeMap<String, String>>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub Runtime: String,
    #[serde(deserialize_with = "null_default")]
    pub Isolation: String,
    #[serde(flatten)]
    pub Resources: Resources,
    #[serde(skip_serializing_if = "is_none_or_empty")]
    pub Mounts: Option<Vec<Mount>>,
    pub MaskedPaths: Option<Vec<String>>,
    pub ReadonlyPaths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Init: Option<bool>,
}

/// One network endpoint of a container.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EndpointSettings {
    pub IPAMConfig: Option<Value>,
    pub Links: Option<Vec<String>>,
    pub Aliases: Option<Vec<String>>,
    /// Here since API 1.44 (in this position).
    #[serde(deserialize_with = "null_default")]
    pub MacAddress: String,
    pub DriverOpts: Option<BTreeMap<String, String>>,
    /// API 1.48 and up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub GwPriority: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub NetworkID: String,
    #[serde(deserialize_with = "null_default")]
    pub EndpointID: String,
    #[serde(deserialize_with = "null_default")]
    pub Gateway: String,
    #[serde(deserialize_with = "null_default")]
    pub IPAddress: String,
    #[serde(deserialize_with = "null_default")]
    pub IPPrefixLen: i64,
    #[serde(deserialize_with = "null_default")]
    pub IPv6Gateway: String,
    #[serde(deserialize_with = "null_default")]
    pub GlobalIPv6Address: String,
    #[serde(deserialize_with = "null_default")]
    pub GlobalIPv6PrefixLen: i64,
    /// API 1.44 and up; `Some(None)` is written as null.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_null"
    )]
    pub DNSNames: Option<Option<Vec<String>>>,
}

fn some_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Ok(Some(Option::<Vec<String>>::deserialize(d)?))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NetworkingConfig {
    pub EndpointsConfig: Option<BTreeMap<String, Option<EndpointSettings>>>,
}

/// The body of `POST /containers/create`: a Config with HostConfig and NetworkingConfig.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CreateRequest {
    #[serde(flatten)]
    pub Config: Config,
    pub HostConfig: Option<HostConfig>,
    pub NetworkingConfig: Option<NetworkingConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateResponse {
    pub Id: String,
    pub Warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HealthcheckResult {
    pub Start: String,
    pub End: String,
    pub ExitCode: i64,
    pub Output: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Health {
    /// `starting`, `healthy`, `unhealthy` (or `none`).
    pub Status: String,
    pub FailingStreak: i64,
    pub Log: Option<Vec<HealthcheckResult>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct State {
    pub Status: String,
    pub Running: bool,
    pub Paused: bool,
    pub Restarting: bool,
    pub OOMKilled: bool,
    pub Dead: bool,
    pub Pid: i64,
    pub ExitCode: i64,
    pub Error: String,
    pub StartedAt: String,
    pub FinishedAt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Health: Option<Health>,
}

/// One entry of inspect's and ps's `Mounts`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MountPoint {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Name: String,
    pub Source: String,
    pub Destination: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub Driver: String,
    pub Mode: String,
    pub RW: bool,
    pub Propagation: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct GraphDriver {
    pub Data: Option<BTreeMap<String, String>>,
    pub Name: String,
}

/// inspect's `NetworkSettings` (the API 1.50 shape, with the deprecated top-level fields
/// that Docker keeps until API 1.52).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NetworkSettings {
    pub Bridge: String,
    pub SandboxID: String,
    pub HairpinMode: bool,
    pub LinkLocalIPv6Address: String,
    pub LinkLocalIPv6PrefixLen: i64,
    pub Ports: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    pub SandboxKey: String,
    pub SecondaryIPAddresses: Option<Vec<Value>>,
    pub SecondaryIPv6Addresses: Option<Vec<Value>>,
    pub EndpointID: String,
    pub Gateway: String,
    pub GlobalIPv6Address: String,
    pub GlobalIPv6PrefixLen: i64,
    pub IPAddress: String,
    pub IPPrefixLen: i64,
    pub IPv6Gateway: String,
    pub MacAddress: String,
    pub Networks: Option<BTreeMap<String, EndpointSettings>>,
}

/// `GET /containers/{id}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InspectResponse {
    pub Id: String,
    pub Created: String,
    pub Path: String,
    pub Args: Vec<String>,
    pub State: State,
    pub Image: String,
    pub ResolvConfPath: String,
    pub HostnamePath: String,
    pub HostsPath: String,
    pub LogPath: String,
    pub Name: String,
    pub RestartCount: i64,
    pub Driver: String,
    pub Platform: String,
    pub MountLabel: String,
    pub ProcessLabel: String,
    pub AppArmorProfile: String,
    pub ExecIDs: Option<Vec<String>>,
    pub HostConfig: HostConfig,
    pub GraphDriver: GraphDriver,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SizeRw: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SizeRootFs: Option<i64>,
    pub Mounts: Vec<MountPoint>,
    pub Config: Config,
    pub NetworkSettings: NetworkSettings,
}

impl InspectResponse {
    /// Drop what the negotiated version does not know.
    pub fn gate(&mut self, v: &ApiVersion) {
        gate_networks(self.NetworkSettings.Networks.as_mut(), v);
        if v.ge("1.44") {
            // The container-wide MacAddress moved to the endpoints.
            self.Config.MacAddress.clear();
        }
        if v.lt("1.44") {
            if let Some(h) = self.Config.Healthcheck.as_mut() {
                h.StartInterval = 0;
            }
        }
        if v.lt("1.43") {
            self.HostConfig.Annotations = None;
        }
    }
}

fn gate_networks(nets: Option<&mut BTreeMap<String, EndpointSettings>>, v: &ApiVersion) {
    for ep in nets.into_iter().flat_map(|n| n.values_mut()) {
        if v.lt("1.48") {
            ep.GwPriority = None;
        } else if ep.GwPriority.is_none() {
            ep.GwPriority = Some(0);
        }
        if v.lt("1.44") {
            ep.DNSNames = None;
        } else if ep.DNSNames.is_none() {
            ep.DNSNames = Some(None);
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Port {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub IP: String,
    pub PrivatePort: u16,
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub PublicPort: u16,
    pub Type: String,
}

fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SummaryHostConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub NetworkMode: String,
    #[serde(skip_serializing_if = "is_none_or_empty_map")]
    pub Annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SummaryNetworkSettings {
    pub Networks: Option<BTreeMap<String, EndpointSettings>>,
}

/// One entry of `GET /containers/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Summary {
    pub Id: String,
    pub Names: Vec<String>,
    pub Image: String,
    pub ImageID: String,
    pub Command: String,
    pub Created: i64,
    pub Ports: Vec<Port>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SizeRw: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SizeRootFs: Option<i64>,
    pub Labels: BTreeMap<String, String>,
    pub State: String,
    pub Status: String,
    pub HostConfig: SummaryHostConfig,
    pub NetworkSettings: SummaryNetworkSettings,
    pub Mounts: Vec<MountPoint>,
}

impl Summary {
    pub fn gate(&mut self, v: &ApiVersion) {
        if v.lt("1.46") {
            self.HostConfig.Annotations = None;
        }
        gate_networks(self.NetworkSettings.Networks.as_mut(), v);
    }
}

/// `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WaitResponse {
    pub StatusCode: i64,
    /// Omitted before API 1.30... and null when there was no error.
    pub Error: Option<WaitError>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WaitError {
    pub Message: String,
}

/// `POST /containers/{id}/update`: the resources plus the restart policy.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct UpdateConfig {
    #[serde(flatten)]
    pub Resources: Resources,
    pub RestartPolicy: Option<RestartPolicy>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpdateResponse {
    pub Warnings: Vec<String>,
}

/// `GET /containers/{id}/top`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TopResponse {
    pub Titles: Vec<String>,
    pub Processes: Vec<Vec<String>>,
}

/// One entry of `GET /containers/{id}/changes`: Kind 0 modified, 1 added, 2 deleted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    pub Path: String,
    pub Kind: u8,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PruneReport {
    pub ContainersDeleted: Option<Vec<String>>,
    pub SpaceReclaimed: u64,
}

/// `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExecConfig {
    #[serde(deserialize_with = "null_default")]
    pub User: String,
    #[serde(deserialize_with = "null_default")]
    pub Privileged: bool,
    #[serde(deserialize_with = "null_default")]
    pub Tty: bool,
    pub ConsoleSize: Option<[u32; 2]>,
    #[serde(deserialize_with = "null_default")]
    pub AttachStdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub AttachStderr: bool,
    #[serde(deserialize_with = "null_default")]
    pub AttachStdout: bool,
    #[serde(deserialize_with = "null_default")]
    pub Detach: bool,
    #[serde(deserialize_with = "null_default")]
    pub DetachKeys: String,
    pub Env: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub WorkingDir: String,
    #[serde(deserialize_with = "str_slice")]
    pub Cmd: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExecStartConfig {
    pub Detach: bool,
    pub Tty: bool,
    pub ConsoleSize: Option<[u32; 2]>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExecProcessConfig {
    pub tty: bool,
    pub entrypoint: String,
    pub arguments: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExecInspect {
    pub ID: String,
    pub Running: bool,
    pub ExitCode: Option<i64>,
    pub ProcessConfig: ExecProcessConfig,
    pub OpenStdin: bool,
    pub OpenStderr: bool,
    pub OpenStdout: bool,
    pub CanRemove: bool,
    pub ContainerID: String,
    pub DetachKeys: String,
    pub Pid: i64,
}

/// `GET /events` messages (the API ≤ 1.51 shape with the legacy `status`, `id`, `from`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EventMessage {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    pub Type: String,
    pub Action: String,
    pub Actor: EventActor,
    pub scope: String,
    pub time: i64,
    pub timeNano: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EventActor {
    pub ID: String,
    pub Attributes: BTreeMap<String, String>,
}

/// `GET /containers/{id}/stats` (one sample; the daemon fills what the cgroup gives).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StatsResponse {
    pub name: String,
    pub id: String,
    pub read: String,
    pub preread: String,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    pub num_procs: u32,
    pub storage_stats: Value,
    pub cpu_stats: CpuStats,
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioEntry>>,
    pub io_time_recursive: Option<Vec<BlkioEntry>>,
    pub sectors_recursive: Option<Vec<BlkioEntry>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CpuUsage {
    pub total_usage: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_cpu_usage: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_cpus: Option<u32>,
    pub throttling_data: ThrottlingData,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body the Docker CLI 28 sends for `docker run -d --init --read-only --tmpfs /run:size=1m
    /// -v /tmp:/hosttmp:ro --pids-limit 50 ... -u 1:2 -w /tmp -h myhost --restart on-failure:3`
    /// (captured between the CLI and dockerd 20.10).
    const CLI_CREATE: &str = r#"{"Hostname":"myhost","Domainname":"","User":"1:2","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sleep","1"],"Image":"bb:latest","Volumes":{},"WorkingDir":"/tmp","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":["/tmp:/hosttmp:ro"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":true,"SecurityOpt":null,"Tmpfs":{"/run":"size=1m"},"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":512,"Memory":104857600,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"0","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":209715200,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":50,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null,"Init":true},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}"#;

    #[test]
    fn reads_the_cli_create_body() {
        let r: CreateRequest = serde_json::from_str(CLI_CREATE).unwrap();
        assert_eq!(r.Config.Hostname, "myhost");
        assert_eq!(
            r.Config.Cmd.as_deref(),
            Some(&["sleep".to_string(), "1".to_string()][..])
        );
        assert_eq!(r.Config.Env, None);
        let h = r.HostConfig.unwrap();
        assert_eq!(
            h.Binds.as_deref(),
            Some(&["/tmp:/hosttmp:ro".to_string()][..])
        );
        assert_eq!(
            h.RestartPolicy,
            RestartPolicy {
                Name: "on-failure".into(),
                MaximumRetryCount: 3
            }
        );
        assert!(h.ReadonlyRootfs);
        assert_eq!(h.Tmpfs.unwrap()["/run"], "size=1m");
        assert_eq!(h.Resources.CpuShares, 512);
        assert_eq!(h.Resources.Memory, 104857600);
        assert_eq!(h.Resources.MemorySwap, 209715200);
        assert_eq!(h.Resources.MemorySwappiness, Some(-1));
        assert_eq!(h.Resources.PidsLimit, Some(50));
        assert_eq!(h.Resources.CpusetCpus, "0");
        assert_eq!(h.Init, Some(true));
        let eps = r.NetworkingConfig.unwrap().EndpointsConfig.unwrap();
        assert!(eps.contains_key("default"));
    }

    #[test]
    fn str_slices_and_nulls_read_as_go_does() {
        let c: Config =
            serde_json::from_str(r#"{"Cmd":"echo hi","Entrypoint":null,"Tty":null,"Env":[]}"#)
                .unwrap();
        assert_eq!(c.Cmd, Some(vec!["echo hi".to_string()]));
        assert_eq!(c.Entrypoint, None);
        assert!(!c.Tty);
        assert_eq!(c.Env, Some(vec![]));
    }

    #[test]
    fn host_config_writes_resources_inline_and_nulls() {
        let h = HostConfig {
            NetworkMode: "none".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["Binds"], Value::Null);
        assert_eq!(v["Memory"], 0);
        assert_eq!(v["PidsLimit"], Value::Null);
        assert!(v.get("Resources").is_none());
        assert!(v.get("KernelMemory").is_none());
        assert!(v.get("Init").is_none());
        assert!(v.get("Tmpfs").is_none());
    }

    #[test]
    fn version_gates_on_endpoints() {
        let mut nets = BTreeMap::new();
        nets.insert("none".to_string(), EndpointSettings::default());
        let mut s = Summary {
            NetworkSettings: SummaryNetworkSettings {
                Networks: Some(nets),
            },
            ..Default::default()
        };
        let mut old = s.clone();
        s.gate(&ApiVersion::max());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["NetworkSettings"]["Networks"]["none"]["GwPriority"], 0);
        assert_eq!(
            v["NetworkSettings"]["Networks"]["none"]["DNSNames"],
            Value::Null
        );
        assert!(v["NetworkSettings"]["Networks"]["none"]
            .as_object()
            .unwrap()
            .contains_key("DNSNames"));
        old.gate(&ApiVersion::negotiate(Some("1.41")).unwrap());
        let v = serde_json::to_value(&old).unwrap();
        assert!(!v["NetworkSettings"]["Networks"]["none"]
            .as_object()
            .unwrap()
            .contains_key("GwPriority"));
        assert!(!v["NetworkSettings"]["Networks"]["none"]
            .as_object()
            .unwrap()
            .contains_key("DNSNames"));
    }
}
