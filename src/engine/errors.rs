//! How the engine refuses a request: the reference server's error table (`Server.errors` in
//! `engine.io`) and the HTTP answers built from it.

/// An HTTP answer decided by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub(super) fn ok_text(body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; charset=UTF-8",
            body,
        }
    }

    /// The reference's JSON error body, e.g. `{"code":1,"message":"Session ID unknown"}`.
    pub fn error(error: RequestError) -> Reply {
        Reply {
            status: error.status(),
            content_type: "application/json",
            body: format!(
                "{{\"code\":{},\"message\":\"{}\"}}",
                error.code(),
                error.message()
            )
            .into_bytes(),
        }
    }

    /// A bare status with an empty body (the reference's answer to overlapping requests).
    pub(super) fn bare(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=UTF-8",
            body: Vec::new(),
        }
    }
}

/// The reference server's request errors (`Server.errors` in `engine.io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    UnknownTransport,
    UnknownSid,
    BadHandshakeMethod,
    BadRequest,
    Forbidden,
    UnsupportedProtocolVersion,
}

impl RequestError {
    pub fn code(self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest => 3,
            RequestError::Forbidden => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden => "Forbidden",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            RequestError::Forbidden => 403,
            _ => 400,
        }
    }
}
