//! `anola-sync-server`: reads configuration, connects to MongoDB, serves until SIGTERM/SIGINT.

use anola_sync_server::cards::sealing::KeySealer;
use anola_sync_server::faults::Faults;
use anola_sync_server::store::sealing::SecretSealer;
use anola_sync_server::store::StoreError;
use anola_sync_server::{serve, serve_tls, AppState, Config, MongoStore, Store};
use anyhow::Context;
use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_env("ANOLA_LOG").unwrap_or_else(|_| EnvFilter::new("info,mongodb=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// The sealing secret: ANOLA_SEALING_SECRET, or the key file (made at the first start, readable
/// by the owner only; a second process starting at the same moment reads the first one's).
fn sealing_secret(config: &Config) -> anyhow::Result<String> {
    use std::io::Write;
    if let Some(s) = &config.sealing_secret {
        return Ok(s.clone());
    }
    let path = &config.sealing_key_file;
    let read = |p: &std::path::Path| -> anyhow::Result<String> {
        let s = std::fs::read_to_string(p).with_context(|| format!("reading the sealing key file {}", p.display()))?;
        let s = s.trim().to_owned();
        anola_sync_server::config::check_secret("ANOLA_SEALING_KEY_FILE", &s)?;
        Ok(s)
    };
    if path.exists() {
        return read(path);
    }
    let secret = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        anola_sync_server::auth::random_bytes::<36>(),
    );
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(secret.as_bytes())
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing the sealing key file {}", path.display()))?;
            tracing::warn!(file = %path.display(), "made a new sealing key file: keep it (and back it up) apart from the database");
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process is writing it: give it a moment to finish.
            std::thread::sleep(Duration::from_millis(200));
            read(path)
        }
        Err(e) => Err(e).with_context(|| format!("creating the sealing key file {}", path.display())),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("anola-sync-server: {e}");
        std::process::exit(2);
    }
    init_tracing(&config.log_format);
    anola_sync_server::sync::validate::set_min_protocol_version(config.min_protocol_version);

    let faults = Arc::new(Faults::from_env());
    let sealing = sealing_secret(&config)?;
    let store = MongoStore::connect(&config.mongodb_uri, &config.database, faults)
        .await
        .context("MONGODB_URI could not be used")?
        .with_sealer(SecretSealer::new(&sealing, config.sealing_secret_previous.as_deref()));

    // Wait for the database, then create indexes explicitly: a server that cannot reach its
    // database at start-up says so and exits rather than serving errors.
    let deadline = Instant::now() + Duration::from_secs(config.db_wait_secs);
    loop {
        match store.ensure_indexes().await {
            Ok(()) => break,
            // Damaged data does not heal by waiting.
            Err(e @ StoreError::Corrupt(_)) => anyhow::bail!("the database at MONGODB_URI needs repair: {e}"),
            Err(e) if Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not answering yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => anyhow::bail!("the database at MONGODB_URI did not answer within {}s: {e}", config.db_wait_secs),
        }
    }

    if config.audit_ledger {
        let report = anola_sync_server::money::LedgerService::audit_report(Arc::new(store))
            .await
            .context("reading the ledger log")?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        std::process::exit(if report.ok { 0 } else { 1 });
    }

    // Secrets stored before sealing, or under the previous sealing secret, sealed again now.
    let resealed = store.reseal_secrets().await.context("sealing stored secrets")?;
    if resealed > 0 {
        tracing::info!(resealed, "stored secrets sealed under the current sealing secret");
    }

    // Staff and cards written before they travelled through the change log (once per database).
    anola_sync_server::sync::announce::existing(&store)
        .await
        .map_err(|e| anyhow::anyhow!("announcing existing staff and cards in the change log: {e}"))?;

    let store = Arc::new(store);
    {
        // Links from patients to children written before links existed (once per database, in the
        // background: it scans two large collections; merges scan as well until it is done).
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(e) = store
                .link_existing_children()
                .instrument(tracing::info_span!("link_children"))
                .await
            {
                tracing::warn!(error = %e, "linking existing appointments and records to patients failed; merges keep scanning");
            }
        });
    }
    if config.prune_interval_secs > 0 {
        let (store, every) = (store.clone(), Duration::from_secs(config.prune_interval_secs));
        tokio::spawn(async move {
            // The first pass waits an interval too: pruning scans, and a start-up (or several
            // server processes restarting together) should not pay for it.
            loop {
                tokio::time::sleep(every).await;
                match anola_sync_server::auth::prune::once(store.as_ref())
                    .instrument(tracing::info_span!("prune"))
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "pruned dead account documents"),
                    Err(e) => tracing::warn!(error = %e, "pruning failed; will try again"),
                }
            }
        });
    }

    if let Some(password) = &config.bootstrap_admin_password {
        match anola_sync_server::auth::users::bootstrap_admin(
            store.as_ref(),
            &config.bootstrap_admin,
            password,
            config.bootstrap_admin_totp_secret.as_deref(),
        )
        .await
        {
            Ok(true) => tracing::info!("platform administrator created; enrol TOTP before administering"),
            Ok(false) => {}
            Err(e) => anyhow::bail!("ANOLA_BOOTSTRAP_ADMIN_PASSWORD: {e}"),
        }
    }

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (ANOLA_LISTEN / --listen)", config.listen))?;
    let tls = matches!((&config.tls_cert, &config.tls_key), (Some(_), Some(_)));
    tracing::info!(addr = %listener.local_addr()?, database = %config.database, tls, "anola-sync-server listening");
    let mut state = AppState::shared(store, config.max_body_bytes)
        .with_request_deadline(Duration::from_secs(config.request_deadline_secs.max(1)))
        .with_access_ttl(config.access_token_ttl_secs)
        .with_card_issuer(config.card_issuer.clone())
        .with_secure_cookies(tls || config.secure_cookies)
        .with_portal_dir(portal_dir(&config));
    // Card signing keys are sealed under a dedicated secret when one is set, else under the
    // server's sealing secret (keys sealed that way still open after a dedicated one is set, and
    // are sealed again under it).
    let mut card_keys = match &config.card_key_secret {
        Some(secret) => KeySealer::with_secret(secret).with_fallback(&sealing),
        None => KeySealer::with_secret(&sealing),
    };
    if let Some(previous) = &config.sealing_secret_previous {
        card_keys = card_keys.with_fallback(previous);
    }
    state = state.with_card_keys(card_keys);
    if let Some(url) = &config.mpesa_url {
        let public_url = config
            .public_url
            .clone()
            .context("ANOLA_PUBLIC_URL: the provider's callbacks need this server's public address")?;
        let provider = anola_sync_server::money::provider::Mpesa::new(anola_sync_server::money::provider::MpesaConfig {
            base_url: url.trim_end_matches('/').to_owned(),
            consumer_key: config.mpesa_consumer_key.clone(),
            consumer_secret: config.mpesa_consumer_secret.clone(),
            shortcode: config.mpesa_shortcode.clone(),
            passkey: config.mpesa_passkey.clone(),
            initiator: config.mpesa_initiator.clone(),
            security_credential: config.mpesa_security_credential.clone(),
        });
        // Callback URLs are signed under a key derived from the sealing secret, the same in
        // every server process of the database.
        let callback_key = {
            use sha2::Digest;
            sha2::Sha256::new()
                .chain_update(b"anola mobile-money callbacks|")
                .chain_update(sealing.as_bytes())
                .finalize()
                .to_vec()
        };
        state = state.with_payments(anola_sync_server::http::Payments {
            provider: std::sync::Arc::new(provider),
            public_url: public_url.trim_end_matches('/').to_owned(),
            callback_key,
        });
        tracing::info!("mobile money on (M-Pesa)");
    }
    // A missing or wrong secret stops the server here, not card requests one by one later.
    // Without a dedicated card secret, plain keys from before sealing are sealed at once under the
    // sealing secret; with one, only on purpose (ANOLA_SEAL_EXISTING_CARD_KEYS), as before.
    let seal_existing = config.seal_existing_card_keys || config.card_key_secret.is_none();
    let sealed = anola_sync_server::cards::prepare_keys(state.store.as_ref(), &state.card_keys, seal_existing)
        .await
        .map_err(|e| anyhow::anyhow!("health-card signing keys: {e}"))?;
    if sealed > 0 {
        tracing::info!(sealed, "card signing keys sealed under the current secret");
    }
    {
        // The slot-rule sweeper: appointments whose push died between writing their versions and
        // settling their claims (a retry from the device usually gets there first).
        let (store, clock) = (state.store.clone(), state.clock.clone());
        let every = Duration::from_secs(config.sweep_interval_secs.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let older_than = every.as_millis() as i64;
                match anola_sync_server::sync::slots::repair_pending(store.as_ref(), &clock, older_than)
                    .instrument(tracing::info_span!("sweep"))
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(repaired = n, "slot rules completed by the sweeper"),
                    Err(e) => tracing::warn!(error = %e, "slot-rule sweep failed; will try again"),
                }
            }
        });
    }
    {
        // Offline allowances whose time is up go back to their wallets (any process may do it;
        // each return is one slot, so two processes sweeping together return each once).
        let ledger = state.ledger.clone();
        let every = Duration::from_secs(config.sweep_interval_secs.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let now = anola_sync_server::auth::now_ms();
                match ledger.sweep(now).instrument(tracing::info_span!("allowance_sweep")).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(returned = n, "expired offline allowances returned"),
                    Err(e) => tracing::warn!(error = %e, "allowance sweep failed; will try again"),
                }
                // Sponsorships: reminders, pre-approval holds whose time is up, terms that end
                // (renewed, or their unused funds returned once), money that came back later.
                match ledger
                    .sponsorship_sweep(now)
                    .instrument(tracing::info_span!("sponsorship_sweep"))
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(changes = n, "sponsorship sweep"),
                    Err(e) => tracing::warn!(error = %e, "sponsorship sweep failed; will try again"),
                }
            }
        });
    }
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => serve_tls(listener.into_std()?, state, shutdown_signal(), cert, key)
            .await
            .context("ANOLA_TLS_CERT / ANOLA_TLS_KEY could not be used")?,
        _ => serve(listener, state, shutdown_signal()).await?,
    }
    tracing::info!("stopped");
    Ok(())
}

/// The portal's page directory: the configured one, or ui/dist-portal when it was built here.
fn portal_dir(config: &Config) -> Option<std::path::PathBuf> {
    let dir = config
        .portal_dir
        .clone()
        .or_else(|| Some(std::path::PathBuf::from("ui/dist-portal")).filter(|d| d.join("index.html").exists()));
    match &dir {
        Some(d) if d.join("index.html").exists() => tracing::info!(dir = %d.display(), "serving the web portal at /portal/"),
        Some(d) => tracing::warn!(dir = %d.display(), "ANOLA_PORTAL_DIR has no index.html: build it with `npm run build:portal` in ui/"),
        None => tracing::info!("no web portal page (build ui/dist-portal to serve one)"),
    }
    dir
}
