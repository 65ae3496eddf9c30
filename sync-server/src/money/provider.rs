//! Payment providers (ADR 0016): mobile-money deposits asked of a payer's phone and payouts sent
//! to one, behind a small trait; one adapter shaped on Safaricom's M-Pesa Daraja API (OAuth
//! client credentials, STK push with a per-request callback URL, B2C payment requests with a
//! result URL). Tests run it against a local simulator of that API (`anola_e2e::mpesa_sim`);
//! nothing here reaches the outside unless a deployment configures a real base URL.

use async_trait::async_trait;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No answer (connection refused, timeout): the request may or may not have arrived.
    #[error("payment provider unreachable: {0}")]
    Unreachable(String),
    /// The provider answered and refused.
    #[error("payment provider refused: {0}")]
    Refused(String),
}

/// Ask `phone` to pay `amount` (whole units of the currency) into the business account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectRequest {
    pub phone: String,
    pub amount: u64,
    /// Shown to the payer (≤ 12 characters on M-Pesa).
    pub reference: String,
    pub callback_url: String,
}

/// Send `amount` (whole units) to `phone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    /// Our id for it, echoed in the result (M-Pesa's OriginatorConversationID).
    pub id: String,
    pub phone: String,
    pub amount: u64,
    pub result_url: String,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// Returns the provider's id of the request (M-Pesa's CheckoutRequestID).
    async fn collect(&self, req: &CollectRequest) -> Result<String, ProviderError>;
    /// Returns the provider's id of the payout (M-Pesa's ConversationID).
    async fn payout(&self, req: &PayoutRequest) -> Result<String, ProviderError>;
}

/// How to reach M-Pesa (Daraja): the base URL (sandbox, production, or a local simulator) and
/// the business's credentials.
#[derive(Debug, Clone)]
pub struct MpesaConfig {
    pub base_url: String,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub shortcode: String,
    pub passkey: String,
    pub initiator: String,
    pub security_credential: String,
}

pub struct Mpesa {
    cfg: MpesaConfig,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: serde_json::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StkPush<'a> {
    business_short_code: &'a str,
    password: String,
    timestamp: String,
    transaction_type: &'a str,
    amount: u64,
    party_a: &'a str,
    party_b: &'a str,
    phone_number: &'a str,
    #[serde(rename = "CallBackURL")]
    callback_url: &'a str,
    account_reference: &'a str,
    transaction_desc: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct B2c<'a> {
    originator_conversation_i_d: &'a str,
    initiator_name: &'a str,
    security_credential: &'a str,
    #[serde(rename = "CommandID")]
    command_id: &'a str,
    amount: u64,
    party_a: &'a str,
    party_b: &'a str,
    remarks: &'a str,
    #[serde(rename = "QueueTimeOutURL")]
    queue_timeout_url: &'a str,
    #[serde(rename = "ResultURL")]
    result_url: &'a str,
    occasion: &'a str,
}

impl Mpesa {
    pub fn new(cfg: MpesaConfig) -> Mpesa {
        Mpesa {
            cfg,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// An OAuth access token, cached until a minute before it expires.
    async fn token(&self) -> Result<String, ProviderError> {
        let mut t = self.token.lock().await;
        if let Some((tok, until)) = t.as_ref() {
            if std::time::Instant::now() < *until {
                return Ok(tok.clone());
            }
        }
        let r = self
            .http
            .get(format!("{}/oauth/v1/generate?grant_type=client_credentials", self.cfg.base_url))
            .basic_auth(&self.cfg.consumer_key, Some(&self.cfg.consumer_secret))
            .send()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
        if !r.status().is_success() {
            return Err(ProviderError::Refused(format!("OAuth answered {}", r.status())));
        }
        let a: TokenAnswer = r.json().await.map_err(|e| ProviderError::Refused(e.to_string()))?;
        let secs = a
            .expires_in
            .as_u64()
            .or_else(|| a.expires_in.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(3599);
        *t = Some((
            a.access_token.clone(),
            std::time::Instant::now() + Duration::from_secs(secs.saturating_sub(60)),
        ));
        Ok(a.access_token)
    }

    async fn post<B: Serialize>(&self, path: &str, body: &B) -> Result<serde_json::Value, ProviderError> {
        let token = self.token().await?;
        let r = self
            .http
            .post(format!("{}{path}", self.cfg.base_url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
        let status = r.status();
        let v: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
        if !status.is_success() || v["ResponseCode"].as_str() != Some("0") {
            let why = v["errorMessage"]
                .as_str()
                .or(v["ResponseDescription"].as_str())
                .unwrap_or("no reason given");
            return Err(ProviderError::Refused(format!("{status}: {why}")));
        }
        Ok(v)
    }
}

/// Daraja's timestamp, `YYYYMMDDHHmmss` (East Africa Time, UTC+3).
pub fn timestamp(now: time::OffsetDateTime) -> String {
    let eat = now.to_offset(time::UtcOffset::from_hms(3, 0, 0).expect("a valid offset"));
    eat.format(&time::macros::format_description!("[year][month][day][hour][minute][second]"))
        .expect("a timestamp formats")
}

/// Daraja's STK password: base64(shortcode + passkey + timestamp).
pub fn stk_password(shortcode: &str, passkey: &str, timestamp: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{shortcode}{passkey}{timestamp}"))
}

#[async_trait]
impl PaymentProvider for Mpesa {
    async fn collect(&self, req: &CollectRequest) -> Result<String, ProviderError> {
        let ts = timestamp(time::OffsetDateTime::now_utc());
        let body = StkPush {
            business_short_code: &self.cfg.shortcode,
            password: stk_password(&self.cfg.shortcode, &self.cfg.passkey, &ts),
            timestamp: ts,
            transaction_type: "CustomerPayBillOnline",
            amount: req.amount,
            party_a: &req.phone,
            party_b: &self.cfg.shortcode,
            phone_number: &req.phone,
            callback_url: &req.callback_url,
            account_reference: &req.reference,
            transaction_desc: "Anola Health deposit",
        };
        let v = self.post("/mpesa/stkpush/v1/processrequest", &body).await?;
        Ok(v["CheckoutRequestID"].as_str().unwrap_or_default().to_owned())
    }

    async fn payout(&self, req: &PayoutRequest) -> Result<String, ProviderError> {
        let body = B2c {
            originator_conversation_i_d: &req.id,
            initiator_name: &self.cfg.initiator,
            security_credential: &self.cfg.security_credential,
            command_id: "BusinessPayment",
            amount: req.amount,
            party_a: &self.cfg.shortcode,
            party_b: &req.phone,
            remarks: "Anola Health payout",
            queue_timeout_url: &req.result_url,
            result_url: &req.result_url,
            occasion: "",
        };
        let v = self.post("/mpesa/b2c/v3/paymentrequest", &body).await?;
        Ok(v["ConversationID"].as_str().unwrap_or_default().to_owned())
    }
}

/// The STK push callback body Daraja posts to the CallBackURL.
#[derive(Debug, Clone, Deserialize)]
pub struct StkCallback {
    #[serde(rename = "Body")]
    pub body: StkCallbackBody,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StkCallbackBody {
    #[serde(rename = "stkCallback")]
    pub stk: StkResult,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StkResult {
    #[serde(rename = "CheckoutRequestID")]
    pub checkout_request_id: String,
    pub result_code: i64,
    pub result_desc: String,
    #[serde(default)]
    pub callback_metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    #[serde(rename = "Item")]
    pub items: Vec<MetaItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetaItem {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Value", default)]
    pub value: serde_json::Value,
}

impl StkResult {
    fn item(&self, name: &str) -> Option<&serde_json::Value> {
        self.callback_metadata
            .as_ref()?
            .items
            .iter()
            .find(|i| i.name == name)
            .map(|i| &i.value)
    }
    /// The amount paid, in whole units (Daraja sends a number, sometimes with a fraction).
    pub fn amount(&self) -> Option<u64> {
        self.item("Amount")
            .and_then(|v| v.as_f64())
            .filter(|a| a.fract() == 0.0 && *a >= 0.0)
            .map(|a| a as u64)
    }
    pub fn receipt(&self) -> Option<String> {
        self.item("MpesaReceiptNumber").and_then(|v| v.as_str()).map(String::from)
    }
}

/// The B2C result body Daraja posts to the ResultURL.
#[derive(Debug, Clone, Deserialize)]
pub struct B2cCallback {
    #[serde(rename = "Result")]
    pub result: B2cResult,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct B2cResult {
    pub result_code: i64,
    pub result_desc: String,
    #[serde(rename = "TransactionID", default)]
    pub transaction_id: String,
}
