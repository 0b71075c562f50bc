//! Stream framing the client reads: the multiplexed stdout/stderr of attach, logs and exec
//! (8-byte frame headers), and the JSON message streams of pull, push, load, import and events.
//! Both are sans-IO: feed bytes as they arrive, take complete items out.

use serde::Deserialize;

/// Which stream a multiplexed frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdStream {
    Stdin,
    Stdout,
    Stderr,
    /// A daemon error that ends the stream.
    SystemErr,
}

/// The largest frame accepted (the daemon writes at most 32 KiB per frame; leave room).
pub const MAX_FRAME: usize = 16 << 20;

/// Splits a multiplexed stream into frames.
#[derive(Debug, Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    pub fn new() -> Demux {
        Demux::default()
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one is buffered. An unknown stream byte or an oversized
    /// frame is an error (the stream is not multiplexed, or is corrupt).
    pub fn next_frame(&mut self) -> Result<Option<(StdStream, Vec<u8>)>, String> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let stream = match self.buf[0] {
            0 => StdStream::Stdin,
            1 => StdStream::Stdout,
            2 => StdStream::Stderr,
            3 => StdStream::SystemErr,
            b => return Err(format!("Unrecognized input header: {b}")),
        };
        let size =
            u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if size > MAX_FRAME {
            return Err(format!("frame of {size} bytes is larger than {MAX_FRAME}"));
        }
        if self.buf.len() < 8 + size {
            return Ok(None);
        }
        let payload = self.buf[8..8 + size].to_vec();
        self.buf.drain(..8 + size);
        Ok(Some((stream, payload)))
    }

    /// Bytes left that do not make a whole frame (at the end of the stream: a truncated frame).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// One message of a JSON progress stream (`jsonmessage.JSONMessage`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct JsonMessage {
    pub stream: String,
    pub status: String,
    pub progress: String,
    #[serde(rename = "progressDetail")]
    pub progress_detail: Option<ProgressDetail>,
    pub id: String,
    pub from: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
    #[serde(rename = "errorDetail")]
    pub error_detail: Option<ErrorDetail>,
    pub error: String,
    pub aux: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProgressDetail {
    pub current: i64,
    pub total: i64,
    pub start: i64,
    #[serde(rename = "hidecounts")]
    pub hide_counts: bool,
    pub units: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ErrorDetail {
    pub code: i64,
    pub message: String,
}

impl JsonMessage {
    /// The error this message carries, if any.
    pub fn error_text(&self) -> Option<String> {
        if let Some(d) = &self.error_detail {
            if !d.message.is_empty() {
                return Some(d.message.clone());
            }
        }
        if !self.error.is_empty() {
            return Some(self.error.clone());
        }
        None
    }
}

/// Splits a stream of concatenated JSON documents (any whitespace between them).
#[derive(Debug, Default)]
pub struct JsonSplitter {
    buf: Vec<u8>,
}

impl JsonSplitter {
    pub fn new() -> JsonSplitter {
        JsonSplitter::default()
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete document as a value; `Ok(None)` until one is whole.
    pub fn next_value<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>, String> {
        let start = self
            .buf
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(self.buf.len());
        if start == self.buf.len() {
            self.buf.clear();
            return Ok(None);
        }
        let mut it = serde_json::Deserializer::from_slice(&self.buf[start..]).into_iter::<T>();
        match it.next() {
            Some(Ok(v)) => {
                let used = start + it.byte_offset();
                self.buf.drain(..used);
                Ok(Some(v))
            }
            Some(Err(e)) if e.is_eof() => Ok(None),
            Some(Err(e)) => Err(e.to_string()),
            None => Ok(None),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.iter().all(|b| b.is_ascii_whitespace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_feeds() {
        let mut d = Demux::new();
        let mut wire = vec![1, 0, 0, 0, 0, 0, 0, 3];
        wire.extend_from_slice(b"out");
        wire.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 2]);
        wire.extend_from_slice(b"er");
        d.feed(&wire[..5]);
        assert_eq!(d.next_frame().unwrap(), None);
        d.feed(&wire[5..12]);
        assert_eq!(
            d.next_frame().unwrap(),
            Some((StdStream::Stdout, b"out".to_vec()))
        );
        assert_eq!(d.next_frame().unwrap(), None);
        d.feed(&wire[12..]);
        assert_eq!(
            d.next_frame().unwrap(),
            Some((StdStream::Stderr, b"er".to_vec()))
        );
        assert_eq!(d.pending(), 0);
        d.feed(b"hello wo");
        assert_eq!(
            d.next_frame().unwrap_err(),
            "Unrecognized input header: 104"
        );
    }

    #[test]
    fn json_stream_of_progress_messages() {
        let mut s = JsonSplitter::new();
        s.feed(b"{\"status\":\"Loading layer\",\"progressDetail\":{\"current\":1,\"total\":2},\"id\":\"ab\"}\r\n{\"stream\":\"Loaded ");
        let m: JsonMessage = s.next_value().unwrap().unwrap();
        assert_eq!(m.status, "Loading layer");
        assert_eq!(m.progress_detail.unwrap().total, 2);
        assert!(s.next_value::<JsonMessage>().unwrap().is_none());
        s.feed(b"image: x\\n\"}\n{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}");
        let m: JsonMessage = s.next_value().unwrap().unwrap();
        assert_eq!(m.stream, "Loaded image: x\n");
        let m: JsonMessage = s.next_value().unwrap().unwrap();
        assert_eq!(m.error_text().as_deref(), Some("boom"));
        assert!(s.is_empty());
        s.feed(b"{nope}");
        assert!(s.next_value::<JsonMessage>().is_err());
    }
}
