//! Chunked transfer coding (RFC 9112 section 7.1), sans-IO.
//!
//! The decoder is fed whatever bytes are buffered and says what they are: framing to skip, payload
//! to hand out, or the end of the body. Size lines and trailers may arrive split across reads; the
//! decoder keeps the partial line, bounded by [`MAX_CHUNK_LINE`] and [`MAX_TRAILERS`].

use super::{MAX_CHUNK_LINE, MAX_TRAILERS};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError(pub &'static str);

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed chunked encoding: {}", self.0)
    }
}

impl std::error::Error for ChunkError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    /// After a chunk's data: the CRLF (`seen_cr` once the CR went by).
    DataEnd {
        seen_cr: bool,
    },
    Trailers,
    Done,
}

/// What the next bytes of input are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The first `n` bytes were framing: consume them and call `step` again.
    Framing(usize),
    /// The first `n` bytes are payload: hand them out, consume them, then call [`Decoder::data_taken`].
    Data(usize),
    /// The body is complete; the first `n` bytes were its last framing bytes.
    Done(usize),
}

#[derive(Debug)]
pub struct Decoder {
    state: State,
    line: Vec<u8>,
    trailer_bytes: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            state: State::Size,
            line: Vec::new(),
            trailer_bytes: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Classify the start of `input` (the bytes buffered so far; may be empty only when done).
    pub fn step(&mut self, input: &[u8]) -> Result<Step, ChunkError> {
        match self.state {
            State::Done => Ok(Step::Done(0)),
            State::Data(rem) => Ok(Step::Data(if (input.len() as u64) < rem {
                input.len()
            } else {
                rem as usize
            })),
            State::DataEnd { seen_cr } => {
                let Some(&c) = input.first() else {
                    return Ok(Step::Framing(0));
                };
                match (seen_cr, c) {
                    (false, b'\r') => {
                        self.state = State::DataEnd { seen_cr: true };
                        Ok(Step::Framing(1))
                    }
                    (_, b'\n') => {
                        self.state = State::Size;
                        Ok(Step::Framing(1))
                    }
                    _ => Err(ChunkError("missing CRLF after chunk data")),
                }
            }
            State::Size => {
                let Some(taken) =
                    self.take_line(input, MAX_CHUNK_LINE, "chunk size line too long")?
                else {
                    return Ok(Step::Framing(input.len()));
                };
                let line = std::mem::take(&mut self.line);
                if !line.first().is_some_and(u8::is_ascii_hexdigit) {
                    return Err(ChunkError("invalid chunk size"));
                }
                let size = match httparse::parse_chunk_size(&normalize_eol(&line)) {
                    Ok(httparse::Status::Complete((_, size))) => size,
                    _ => return Err(ChunkError("invalid chunk size")),
                };
                self.state = if size == 0 {
                    State::Trailers
                } else {
                    State::Data(size)
                };
                Ok(Step::Framing(taken))
            }
            State::Trailers => {
                let budget = MAX_TRAILERS
                    .saturating_sub(self.trailer_bytes)
                    .min(MAX_CHUNK_LINE);
                let Some(taken) = self.take_line(input, budget, "trailers too long")? else {
                    return Ok(Step::Framing(input.len()));
                };
                let line = std::mem::take(&mut self.line);
                self.trailer_bytes += line.len();
                if line == b"\r\n" || line == b"\n" {
                    self.state = State::Done;
                    return Ok(Step::Done(taken));
                }
                Ok(Step::Framing(taken))
            }
        }
    }

    /// The caller handed out `n` payload bytes announced by [`Step::Data`].
    pub fn data_taken(&mut self, n: usize) {
        if let State::Data(rem) = self.state {
            let rem = rem - (n as u64).min(rem);
            self.state = if rem == 0 {
                State::DataEnd { seen_cr: false }
            } else {
                State::Data(rem)
            };
        }
    }

    /// Append input up to and including a LF to `self.line`; returns how many bytes of `input`
    /// it took once the line is complete, `None` (all of input taken) while it is not.
    fn take_line(
        &mut self,
        input: &[u8],
        limit: usize,
        too_long: &'static str,
    ) -> Result<Option<usize>, ChunkError> {
        let (chunk, complete) = match input.iter().position(|&c| c == b'\n') {
            Some(i) => (&input[..=i], true),
            None => (input, false),
        };
        if self.line.len() + chunk.len() > limit {
            return Err(ChunkError(too_long));
        }
        self.line.extend_from_slice(chunk);
        Ok(complete.then_some(chunk.len()))
    }
}

/// httparse wants CRLF; tolerate a bare LF line end as Go's reader does.
fn normalize_eol(line: &[u8]) -> Vec<u8> {
    let mut v = line.to_vec();
    if v.ends_with(b"\n") && !v.ends_with(b"\r\n") {
        v.pop();
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Append one chunk carrying `data` to `out` (nothing for empty data: an empty chunk ends a body).
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk and the empty trailer section.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `wire` fed in pieces of `piece` bytes; returns the payload and the bytes left over.
    fn decode(wire: &[u8], piece: usize) -> Result<(Vec<u8>, usize), ChunkError> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        let mut pos = 0;
        let mut avail = piece.min(wire.len());
        loop {
            let input = &wire[pos..avail];
            match d.step(input)? {
                Step::Framing(n) => pos += n,
                Step::Data(n) => {
                    out.extend_from_slice(&input[..n]);
                    d.data_taken(n);
                    pos += n;
                }
                Step::Done(n) => return Ok((out, wire.len() - pos - n)),
            }
            if pos == avail {
                if avail == wire.len() {
                    return Err(ChunkError("test: input ended"));
                }
                avail = (avail + piece).min(wire.len());
            }
        }
    }

    #[test]
    fn decodes_in_any_split() {
        let wire = b"4\r\nWiki\r\n5;name=val\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT";
        for piece in 1..wire.len() {
            let (out, left) = decode(wire, piece).unwrap();
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.", "piece {piece}");
            assert_eq!(left, 4);
        }
    }

    #[test]
    fn bare_lf_line_ends_are_tolerated() {
        let (out, left) = decode(b"3\nabc\n0\n\n", 100).unwrap();
        assert_eq!((out.as_slice(), left), (&b"abc"[..], 0));
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let mut wire = Vec::new();
        for part in [&b"hello "[..], b"", b"world", &[7u8; 300]] {
            encode_chunk(part, &mut wire);
        }
        wire.extend_from_slice(LAST_CHUNK);
        assert!(wire.starts_with(b"6\r\nhello \r\n5\r\nworld\r\n12c\r\n"));
        let (out, left) = decode(&wire, 7).unwrap();
        assert_eq!(out.len(), 6 + 5 + 300);
        assert_eq!(left, 0);
    }

    #[test]
    fn rejects_bad_framing() {
        assert!(decode(b"zz\r\n", 100).is_err());
        assert!(decode(b"\r\n", 100).is_err());
        assert!(decode(b"3\r\nabcX\r\n0\r\n\r\n", 100).is_err());
        assert!(decode(b"ffffffffffffffffff\r\n", 100).is_err());
        let mut long = b"1;".to_vec();
        long.resize(MAX_CHUNK_LINE + 1, b'x');
        assert_eq!(
            decode(&long, 100).unwrap_err(),
            ChunkError("chunk size line too long")
        );
        let mut trailers = b"0\r\n".to_vec();
        for _ in 0..MAX_TRAILERS / 10 + 1 {
            trailers.extend_from_slice(b"X-T: abc\r\n");
        }
        assert_eq!(
            decode(&trailers, 1000).unwrap_err(),
            ChunkError("trailers too long")
        );
    }
}
