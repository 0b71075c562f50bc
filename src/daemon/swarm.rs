//! Swarm endpoints of a node that is not in a swarm (berth has no swarm mode): the answers a
//! standalone dockerd gives, so `docker node ls` and friends print Docker's words. `swarm init`
//! and `swarm join` read their JSON body as dockerd does before saying swarm mode is unsupported.
#![allow(non_snake_case)]

use super::{HandlerFuture, Req};
use crate::base::{Error, ErrorKind};
use serde::Deserialize;

const NOT_A_MANAGER: &str =
    "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// Any manager-only endpoint (`GET /nodes`, `/services`, `/swarm`, …).
pub fn not_a_manager<'a>(_req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move { Err(Error::new(ErrorKind::Unavailable, NOT_A_MANAGER)) })
}

/// `POST /swarm/leave`.
pub fn leave<'a>(_req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        Err(Error::new(
            ErrorKind::Unavailable,
            "This node is not part of a swarm",
        ))
    })
}

/// The fields of `POST /swarm/init` and `/swarm/join` bodies whose types matter when decoding.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SwarmRequest {
    ListenAddr: String,
    AdvertiseAddr: String,
    DataPathAddr: String,
    ForceNewCluster: bool,
    RemoteAddrs: Vec<String>,
    JoinToken: String,
    Availability: String,
    Spec: serde_json::Value,
}

/// `POST /swarm/init` and `POST /swarm/join`.
pub fn init_or_join<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let _body: SwarmRequest = req.json().await?;
        Err(Error::unsupported("berth does not support swarm mode"))
    })
}
