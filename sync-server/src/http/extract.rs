//! A JSON body extractor whose every failure is an `ApiError` naming what was wrong.

use super::error::ApiError;
use anola_protocol::{ErrorBody, ErrorCode};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.into_response().status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than this server accepts")
            } else {
                ApiError::new(ErrorCode::InvalidRequest, "the request body could not be read")
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses in three steps so each kind of mistake gets its own code: not JSON at all, a protocol
/// version this server does not speak (checked before the shape, which may differ between
/// versions), then the exact shape with the path of the first offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::new(ErrorCode::MalformedJson, format!("the body is not valid JSON: {e}")))?;
    // Sync bodies require the version through their type; staff bodies (a provider) do not carry it.
    if let Some(v) = value.get("protocol_version") {
        match v.as_u64() {
            Some(n) => crate::sync::validate::protocol_version(u32::try_from(n).unwrap_or(u32::MAX)).map_err(ApiError)?,
            None => {
                return Err(ApiError(
                    ErrorBody::new(ErrorCode::InvalidRequest, "protocol_version must be a positive integer").with_field("protocol_version"),
                ))
            }
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." { None } else { Some(path.clone()) };
        let message = match &field {
            Some(f) => format!("{f}: {inner}"),
            None => inner,
        };
        let mut body = ErrorBody::new(ErrorCode::InvalidRequest, message);
        body.field = field;
        ApiError(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anola_protocol::PushRequest;

    fn code(bytes: &[u8]) -> (ErrorCode, Option<String>) {
        let e = parse::<PushRequest>(bytes).unwrap_err().0;
        (e.code, e.field)
    }

    #[test]
    fn each_mistake_has_its_code() {
        assert_eq!(code(b"{not json").0, ErrorCode::MalformedJson);
        assert_eq!(
            code(br#"{"protocol_version": 99, "x": 1}"#).0,
            ErrorCode::UnsupportedProtocolVersion
        );
        assert_eq!(code(br#"{"protocol_version": "1"}"#).0, ErrorCode::InvalidRequest);
        assert_eq!(code(br#"{"device_id": "a", "mutations": []}"#).0, ErrorCode::InvalidRequest);
        assert_eq!(code(br#"[1,2]"#).0, ErrorCode::InvalidRequest);
        // The envelope's shape is checked here, with the path of the first bad field.
        let (c, f) = code(br#"{"protocol_version": 1, "device_id": "d", "clinic_id": "c", "mutations": [{"id": "nope"}]}"#);
        assert_eq!(c, ErrorCode::InvalidRequest);
        assert_eq!(f.as_deref(), Some("mutations[0].id"));
    }

    #[test]
    fn wrong_field_types_name_the_field() {
        let body = br#"{"protocol_version": 1, "device_id": "d", "clinic_id": "c", "mutations": [{"id": "00000000-0000-0000-0000-000000000001", "entity": "patient", "entity_id": "00000000-0000-0000-0000-000000000002", "op": "create", "hlc": "000000000000001-00000-d", "fields": {"given_name": 42}}]}"#;
        let req: PushRequest = parse(body).unwrap();
        let e = crate::sync::validate::push(&req, crate::sync::validate::today()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(e.field.as_deref(), Some("mutations[0].fields.given_name"));
    }
}
