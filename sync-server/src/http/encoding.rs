//! Request body encodings. tower-http's decompression answers a `Content-Encoding` it cannot read
//! with a bare 415; this turns that into the API's error body (stable code, the header named).

use super::error::ApiError;
use anola_protocol::{ErrorBody, ErrorCode};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn explain_unsupported(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let bare = !resp.headers().contains_key(header::CONTENT_TYPE);
    if resp.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE && bare {
        return ApiError(
            ErrorBody::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "Content-Encoding: this server reads request bodies as {} or uncompressed",
                    super::REQUEST_ENCODINGS
                ),
            )
            .with_field("Content-Encoding"),
        )
        .into_response();
    }
    resp
}
