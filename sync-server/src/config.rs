//! Server configuration from flags and environment, validated before anything starts.

use clap::Parser;
use std::net::SocketAddr;

#[derive(Debug, Clone, Parser)]
#[command(name = "anola-sync-server", version, about = "Anola Health sync server")]
pub struct Config {
    /// Replay the money ledger's whole log, check every invariant, print the report as JSON and
    /// exit (0 when sound, 1 when not) instead of serving.
    #[arg(long = "audit-ledger")]
    pub audit_ledger: bool,

    /// Address to listen on.
    #[arg(long, env = "ANOLA_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// MongoDB connection string (FerretDB or MongoDB).
    #[arg(long = "mongodb-uri", env = "MONGODB_URI", default_value = "mongodb://127.0.0.1:27017/")]
    pub mongodb_uri: String,

    /// Database name.
    #[arg(long, env = "ANOLA_DATABASE", default_value = "anola")]
    pub database: String,

    /// Log format: text or json.
    #[arg(long, env = "ANOLA_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ANOLA_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// The oldest sync protocol version accepted; raise it to make old apps update.
    #[arg(long, env = "ANOLA_MIN_PROTOCOL_VERSION", default_value_t = 1)]
    pub min_protocol_version: u32,

    /// Longest a request may run, in seconds; past it the client gets 503 `request_timeout` with
    /// `Retry-After` (a long-poll's wait is added to it).
    #[arg(long, env = "ANOLA_REQUEST_DEADLINE_SECS", default_value_t = 30)]
    pub request_deadline_secs: u64,

    /// How often dead account documents (expired tokens, spent marks, old sign-in failures) are
    /// pruned, in seconds; 0 turns pruning off.
    #[arg(long, env = "ANOLA_PRUNE_INTERVAL_SECS", default_value_t = 600)]
    pub prune_interval_secs: u64,

    /// How long to wait at start-up for the database to answer, in seconds.
    #[arg(long, env = "ANOLA_DB_WAIT_SECS", default_value_t = 30)]
    pub db_wait_secs: u64,

    /// Creates this platform administrator at start-up when the name is free (first run). The
    /// password comes from ANOLA_BOOTSTRAP_ADMIN_PASSWORD; the account must enrol TOTP before it
    /// can administer anything.
    #[arg(long, env = "ANOLA_BOOTSTRAP_ADMIN", default_value = "admin")]
    pub bootstrap_admin: String,

    #[arg(long, env = "ANOLA_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true)]
    pub bootstrap_admin_password: Option<String>,

    /// Provisions the bootstrap administrator's TOTP secret (base32) from a secrets store, so the
    /// first sign-in already has its second factor; without it the administrator enrols one.
    #[arg(long, env = "ANOLA_BOOTSTRAP_ADMIN_TOTP_SECRET", hide_env_values = true)]
    pub bootstrap_admin_totp_secret: Option<String>,

    /// Lifetime of access tokens. Short, so that what only the token says (role, clinic) cannot
    /// outlive a change for long; raise it only for batch tools (the benchmark).
    #[arg(long, env = "ANOLA_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,

    /// The issuer named in health cards (devices refuse cards of other issuers). Keep it stable:
    /// changing it makes every card issued before foreign.
    #[arg(long, env = "ANOLA_CARD_ISSUER", default_value = "https://anola.health")]
    pub card_issuer: String,

    /// Seals health-card signing keys in the database (a copy of the database alone cannot forge
    /// cards). A random string of at least 32 characters from a secrets store; keep it: keys
    /// sealed with it do not open without it.
    #[arg(long, env = "ANOLA_CARD_KEY_SECRET", hide_env_values = true)]
    pub card_key_secret: Option<String>,

    /// With ANOLA_CARD_KEY_SECRET: seal the keys stored before the secret was set (once, after
    /// turning sealing on). Without it, an unsealed key stops the server.
    #[arg(long, env = "ANOLA_SEAL_EXISTING_CARD_KEYS", default_value_t = false, value_parser = clap::builder::BoolishValueParser::new())]
    pub seal_existing_card_keys: bool,

    /// How often the slot-rule sweeper looks for appointments whose push died before their slot
    /// claims settled (seconds).
    #[arg(long, env = "ANOLA_SWEEP_INTERVAL_SECS", default_value_t = 60)]
    pub sweep_interval_secs: u64,

    /// Seals the server's secrets in the database (the token-signing secret, the fallback-code
    /// secret, devices' key-encryption keys, TOTP secrets): a random string of at least 32
    /// characters from a secrets store, the same for every server process of one database. Unset:
    /// the secret is kept in ANOLA_SEALING_KEY_FILE. docs/security.md: rotation.
    #[arg(long, env = "ANOLA_SEALING_SECRET", hide_env_values = true)]
    pub sealing_secret: Option<String>,

    /// During a rotation: the sealing secret being replaced. Values sealed under it still open and
    /// are sealed again under the new one at start-up.
    #[arg(long, env = "ANOLA_SEALING_SECRET_PREVIOUS", hide_env_values = true)]
    pub sealing_secret_previous: Option<String>,

    /// Where the sealing secret is kept when ANOLA_SEALING_SECRET is not set: made at the first
    /// start (random, readable by the owner only). Keep it apart from database backups.
    #[arg(long, env = "ANOLA_SEALING_KEY_FILE", default_value = "anola-sealing.key")]
    pub sealing_key_file: std::path::PathBuf,

    /// The web portal's built page (`npm run build:portal` in ui/ writes ui/dist-portal), served
    /// at /portal/. Unset: ui/dist-portal under the working directory when it exists; else the
    /// server serves the API only.
    #[arg(long, env = "ANOLA_PORTAL_DIR")]
    pub portal_dir: Option<std::path::PathBuf>,

    /// PEM certificate chain and private key: with both set the server speaks HTTPS only.
    #[arg(long, env = "ANOLA_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,

    #[arg(long, env = "ANOLA_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Behind a proxy that terminates TLS: mark the portal's cookies `Secure` and send HSTS as
    /// if this server spoke TLS itself (it does so on its own when ANOLA_TLS_CERT is set).
    #[arg(long, env = "ANOLA_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Mobile money through M-Pesa's Daraja API (ADR 0016): its base URL (the sandbox,
    /// production, or a local simulator). Unset: no mobile money; nothing is ever sent out.
    #[arg(long, env = "ANOLA_MPESA_URL")]
    pub mpesa_url: Option<String>,
    #[arg(long, env = "ANOLA_MPESA_CONSUMER_KEY", hide_env_values = true, default_value = "")]
    pub mpesa_consumer_key: String,
    #[arg(long, env = "ANOLA_MPESA_CONSUMER_SECRET", hide_env_values = true, default_value = "")]
    pub mpesa_consumer_secret: String,
    #[arg(long, env = "ANOLA_MPESA_SHORTCODE", default_value = "174379")]
    pub mpesa_shortcode: String,
    #[arg(long, env = "ANOLA_MPESA_PASSKEY", hide_env_values = true, default_value = "")]
    pub mpesa_passkey: String,
    #[arg(long, env = "ANOLA_MPESA_INITIATOR", default_value = "anola")]
    pub mpesa_initiator: String,
    #[arg(long, env = "ANOLA_MPESA_SECURITY_CREDENTIAL", hide_env_values = true, default_value = "")]
    pub mpesa_security_credential: String,
    /// The address the payment provider reaches this server at, for its callbacks
    /// (e.g. https://sync.example.org). Needed with ANOLA_MPESA_URL.
    #[arg(long, env = "ANOLA_PUBLIC_URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

/// A secret must look random: long enough, and not one character repeated.
pub fn check_secret(setting: &'static str, secret: &str) -> Result<(), ConfigError> {
    let distinct = secret.chars().collect::<std::collections::HashSet<_>>().len();
    if secret.chars().count() < crate::cards::sealing::MIN_SECRET_LEN || distinct < 10 {
        return Err(ConfigError {
            setting,
            reason: format!(
                "must be a random string of at least {} characters",
                crate::cards::sealing::MIN_SECRET_LEN
            ),
        });
    }
    Ok(())
}

impl Config {
    /// Checks what clap's types cannot: the shape of the URI and the database name.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.mongodb_uri.starts_with("mongodb://") || self.mongodb_uri.starts_with("mongodb+srv://")) {
            return Err(ConfigError {
                setting: "MONGODB_URI (--mongodb-uri)",
                reason: "must start with mongodb:// or mongodb+srv://".into(),
            });
        }
        let bad = |c: char| "/\\. \"$*<>:|?".contains(c) || c.is_control();
        if self.database.is_empty() || self.database.len() > 63 || self.database.chars().any(bad) {
            return Err(ConfigError {
                setting: "ANOLA_DATABASE (--database)",
                reason: "must be 1-63 characters without / \\ . space \" $ * < > : | ?".into(),
            });
        }
        if let Some(secret) = &self.bootstrap_admin_totp_secret {
            if anola_protocol::totp::base32_decode(secret).is_none_or(|b| b.len() < 10) {
                return Err(ConfigError {
                    setting: "ANOLA_BOOTSTRAP_ADMIN_TOTP_SECRET",
                    reason: "must be base32 of at least 10 bytes".into(),
                });
            }
        }
        if !(60..=86_400).contains(&self.access_token_ttl_secs) {
            return Err(ConfigError {
                setting: "ANOLA_ACCESS_TOKEN_TTL_SECS",
                reason: "must be between 60 and 86400 seconds".into(),
            });
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError {
                setting: "ANOLA_TLS_CERT / ANOLA_TLS_KEY",
                reason: "set both (certificate chain and private key) or neither".into(),
            });
        }
        for (setting, secret) in [
            ("ANOLA_CARD_KEY_SECRET", &self.card_key_secret),
            ("ANOLA_SEALING_SECRET", &self.sealing_secret),
            ("ANOLA_SEALING_SECRET_PREVIOUS", &self.sealing_secret_previous),
        ] {
            if let Some(secret) = secret {
                check_secret(setting, secret)?;
            }
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError {
                setting: "ANOLA_MAX_BODY_BYTES (--max-body-bytes)",
                reason: "must be at least 1024".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Config {
        let mut all = vec!["anola-sync-server"];
        all.extend_from_slice(args);
        Config::try_parse_from(all).unwrap()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(cfg(&[]).validate(), Ok(()));
    }

    #[test]
    fn bad_uri_names_the_setting() {
        let e = cfg(&["--mongodb-uri", "postgres://x"]).validate().unwrap_err();
        assert!(e.to_string().contains("MONGODB_URI"));
    }

    #[test]
    fn bad_database_names_the_setting() {
        let e = cfg(&["--database", "a.b"]).validate().unwrap_err();
        assert!(e.to_string().contains("ANOLA_DATABASE"));
    }

    #[test]
    fn bad_listen_is_refused_by_the_parser() {
        let e = Config::try_parse_from(["x", "--listen", "nope"]).unwrap_err();
        assert!(e.to_string().contains("--listen"));
    }

    #[test]
    fn a_short_card_key_secret_is_refused() {
        let e = cfg(&["--card-key-secret", "too short"]).validate().unwrap_err();
        assert!(e.to_string().contains("ANOLA_CARD_KEY_SECRET"));
        assert!(
            cfg(&["--card-key-secret", &"k".repeat(40)]).validate().is_err(),
            "one repeated character"
        );
        assert_eq!(cfg(&["--card-key-secret", "Zq8v3LmW1xR7tY0pK5nB9cD2fG6hJ4sA"]).validate(), Ok(()));
    }
}
