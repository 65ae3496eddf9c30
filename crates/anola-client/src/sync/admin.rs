//! Staff operations that run on the server (providers, duplicate merges, resync), for the CLI.

use super::round::client_error;
use super::transport::Transport;
use crate::error::ClientError;
use anola_protocol::auth::{LoginRequest, LoginResponse};
use anola_protocol::wire::{MergeNote, MergeRequest};
use anola_protocol::{ConflictNote, Provider, PROTOCOL_VERSION};
use uuid::Uuid;

/// Staff operations get as long as the server gives them (a merge still scans; 10 minutes).
const STAFF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(610);

pub struct AdminClient {
    transport: Transport,
    clinic_id: String,
}

/// Signs a staff member in (no device key): for staff tools and tests that need a bearer token.
pub async fn login(server_url: &str, username: &str, password: &str, totp: Option<&str>) -> Result<LoginResponse, ClientError> {
    Transport::new(server_url)
        .login(
            &LoginRequest {
                username: username.to_owned(),
                password: password.to_owned(),
                totp: totp.map(str::to_owned),
                signing_key: None,
            },
            None,
        )
        .await
        .map_err(client_error)
}

impl AdminClient {
    /// A client without credentials (only for servers that do not require them).
    pub fn new(server_url: &str, clinic_id: &str) -> Self {
        Self {
            transport: Transport::new(server_url).with_timeout(STAFF_TIMEOUT),
            clinic_id: clinic_id.to_owned(),
        }
    }

    /// A client sending `Authorization: Bearer <token>` (an administrator's access token).
    pub fn with_token(server_url: &str, clinic_id: &str, token: &str) -> Self {
        Self {
            transport: Transport::new(server_url).with_bearer(token).with_timeout(STAFF_TIMEOUT),
            clinic_id: clinic_id.to_owned(),
        }
    }

    pub async fn put_provider(&self, p: &Provider) -> Result<Provider, ClientError> {
        self.transport
            .send(reqwest::Method::PUT, &format!("/admin/providers/{}", p.id), Some(p))
            .await
            .map_err(client_error)
    }

    pub async fn merge_candidates(&self) -> Result<Vec<ConflictNote>, ClientError> {
        self.transport
            .send::<(), _>(
                reqwest::Method::GET,
                &format!("/admin/merge-candidates?clinic_id={}", self.clinic_id),
                None,
            )
            .await
            .map_err(client_error)
    }

    /// The money ledger replayed and checked (platform administrators).
    pub async fn ledger_audit(&self) -> Result<anola_protocol::money::LedgerAudit, ClientError> {
        self.transport
            .send::<(), _>(reqwest::Method::GET, "/admin/ledger/audit", None)
            .await
            .map_err(client_error)
    }

    pub async fn conflicts(&self) -> Result<Vec<ConflictNote>, ClientError> {
        self.transport
            .send::<(), _>(
                reqwest::Method::GET,
                &format!("/admin/conflicts?clinic_id={}", self.clinic_id),
                None,
            )
            .await
            .map_err(client_error)
    }

    pub async fn merge(&self, survivor: Uuid, duplicate: Uuid, merged_by: &str) -> Result<MergeNote, ClientError> {
        let req = MergeRequest {
            protocol_version: PROTOCOL_VERSION,
            clinic_id: self.clinic_id.clone(),
            survivor,
            duplicate,
            merged_by: merged_by.to_owned(),
        };
        self.transport
            .send(reqwest::Method::POST, "/admin/patients/merge", Some(&req))
            .await
            .map_err(client_error)
    }

    pub async fn resync(&self) -> Result<serde_json::Value, ClientError> {
        self.transport
            .send::<(), _>(reqwest::Method::POST, &format!("/admin/clinics/{}/resync", self.clinic_id), None)
            .await
            .map_err(client_error)
    }
}
