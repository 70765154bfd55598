//! Extractor wrappers whose rejections use the API's JSON error envelope.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use coastguard_core::Error;
use serde::de::DeserializeOwned;

/// The largest JSON body an operation takes (scan reports have their own limit).
pub const BODY_LIMIT: usize = 1 << 20;

/// A JSON object body. Syntax errors are 400 `malformed`; well-formed JSON of the wrong
/// shape is 422 `invalid`, with serde's description of where; more than [`BODY_LIMIT`]
/// bytes is 413.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Every body this API takes is an object: serde would also fill a struct from an
        // array of its fields in order (`[null, null]`), which no document allows.
        let req = {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
                Error::PayloadTooLarge(format!("the body is larger than {} KiB", BODY_LIMIT >> 10))
            })?;
            let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
            if first.is_some_and(|b| *b != b'{') {
                return Err(Error::invalid("the body must be a JSON object"));
            }
            Request::from_parts(parts, axum::body::Body::from(bytes))
        };
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(Error::invalid(e.body_text())),
            Err(e) => Err(Error::Malformed(e.body_text())),
        }
    }
}

pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| Error::invalid_at("path", e.body_text()))
    }
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| Error::invalid_at("query", e.body_text()))
    }
}
