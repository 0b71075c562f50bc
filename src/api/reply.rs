//! Response bodies in Docker's shapes: JSON documents (with the trailing newline Go's encoder
//! writes) and the error body `{"message":"..."}`.

use super::types::ErrorResponse;
use crate::http::Response;
use serde::Serialize;

pub const JSON: &str = "application/json";

/// A JSON document as moby's `WriteJSON` writes it.
pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(mut body) => {
            body.push(b'\n');
            Response::bytes(status, JSON, body)
        }
        Err(e) => error(500, &format!("encode response: {e}")),
    }
}

/// Docker's error body.
pub fn error(status: u16, message: &str) -> Response {
    let mut body = serde_json::to_vec(&ErrorResponse {
        message: message.to_string(),
    })
    .unwrap_or_else(|_| b"{}".to_vec());
    body.push(b'\n');
    Response::bytes(status, JSON, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::server::ResponseBody;

    #[test]
    fn error_body_shape() {
        let r = error(404, "page not found");
        assert_eq!(r.status, 404);
        assert_eq!(r.headers.get("Content-Type"), Some("application/json"));
        match r.body {
            ResponseBody::Bytes(b) => assert_eq!(b, b"{\"message\":\"page not found\"}\n"),
            other => panic!("unexpected body {other:?}"),
        }
    }
}
