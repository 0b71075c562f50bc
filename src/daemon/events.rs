//! The daemon's event bus: `GET /events` subscribers and a short history for `--since`.
//!
//! Every component that changes an object (containers, images, later networks and volumes)
//! calls [`Events::publish`]. Subscribers get every message published after they subscribed;
//! a subscriber that does not keep up (its queue is full) is dropped rather than slowing the
//! daemon, as Docker's pubsub does with its buffered topics. The last [`HISTORY`] messages are
//! kept so `docker events --since` can replay them.

use crate::api::container::{EventActor, EventMessage};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// How many past events are kept for `since` (Docker keeps 256).
pub const HISTORY: usize = 256;
/// Queue length per subscriber.
const QUEUE: usize = 1024;

#[derive(Debug, Default)]
pub struct Events {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    history: VecDeque<EventMessage>,
    subscribers: Vec<smol::channel::Sender<EventMessage>>,
}

impl Events {
    pub fn new() -> Events {
        Events::default()
    }

    /// Publish `action` on an object of `typ` (`container`, `image`, ...). For containers and
    /// images Docker also fills the legacy `status`/`id`/`from` fields.
    pub fn publish(&self, typ: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (status, legacy_id, from) = match typ {
            "container" => (
                action.to_string(),
                id.to_string(),
                attributes.get("image").cloned().unwrap_or_default(),
            ),
            "image" => (action.to_string(), id.to_string(), String::new()),
            _ => (String::new(), String::new(), String::new()),
        };
        let msg = EventMessage {
            status,
            id: legacy_id,
            from,
            Type: typ.to_string(),
            Action: action.to_string(),
            Actor: EventActor {
                ID: id.to_string(),
                Attributes: attributes,
            },
            scope: "local".to_string(),
            time: now.as_secs() as i64,
            timeNano: now.as_nanos() as i64,
        };
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.history.len() == HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(msg.clone());
        inner
            .subscribers
            .retain(|s| s.try_send(msg.clone()).is_ok());
    }

    /// The kept history, then everything published from now on (one atomic step, so nothing
    /// falls between the two).
    pub fn subscribe(&self) -> (Vec<EventMessage>, smol::channel::Receiver<EventMessage>) {
        let (tx, rx) = smol::channel::bounded(QUEUE);
        let Ok(mut inner) = self.inner.lock() else {
            return (Vec::new(), rx);
        };
        inner.subscribers.push(tx);
        (inner.history.iter().cloned().collect(), rx)
    }

    /// Live subscribers (`docker info`'s NEventsListener).
    pub fn listeners(&self) -> usize {
        self.inner
            .lock()
            .map(|mut i| {
                i.subscribers.retain(|s| !s.is_closed());
                i.subscribers.len()
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_and_live_messages() {
        let ev = Events::new();
        ev.publish(
            "container",
            "create",
            "abc",
            BTreeMap::from([
                ("image".to_string(), "bb".to_string()),
                ("name".to_string(), "x".to_string()),
            ]),
        );
        let (past, rx) = ev.subscribe();
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].status, "create");
        assert_eq!(past[0].from, "bb");
        assert_eq!(past[0].Actor.Attributes["name"], "x");
        ev.publish("container", "start", "abc", BTreeMap::new());
        let m = rx.try_recv().unwrap();
        assert_eq!(
            (m.Type.as_str(), m.Action.as_str(), m.scope.as_str()),
            ("container", "start", "local")
        );
        assert!(m.timeNano / 1_000_000_000 == m.time);
        assert_eq!(ev.listeners(), 1);
        drop(rx);
        ev.publish("container", "die", "abc", BTreeMap::new());
        assert_eq!(ev.listeners(), 0);
        for _ in 0..HISTORY + 10 {
            ev.publish("image", "tag", "i", BTreeMap::new());
        }
        assert_eq!(ev.subscribe().0.len(), HISTORY);
    }
}
