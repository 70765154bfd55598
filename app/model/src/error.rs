//! The one JSON error envelope every REST endpoint returns:
//! `{"error": {"code": "not_found", "message": "no user with id 7"}}`.
//! `code` is stable and machine-readable; `message` is for people and may change.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// One of `unauthorized`, `forbidden`, `not_found`, `malformed`, `invalid`, `conflict`,
    /// `payload_too_large`, `too_many_requests`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    /// Where in the input the problem is (a field name, JSON path or line), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
                location: None,
            },
        }
    }
}
