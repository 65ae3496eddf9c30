//! The web portal in a real browser: Debian's Chromium driven by playwright-core
//! (`ui/e2e/portal.e2e.mjs`) against this sync server on FerretDB, with CLI devices enrolled
//! only through codes made in the portal. Screenshots go to test-artifacts/portal-*.png.

use anola_e2e::accounts::{ADMIN, ADMIN_PASSWORD, ADMIN_TOTP_SECRET};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, target_bin, unique_db, workspace_root};
use std::process::Command;

#[test]
fn the_portal_in_a_real_browser() {
    let root = workspace_root();
    let portal = root.join("ui/dist-portal");
    assert!(
        portal.join("index.html").exists(),
        "ui/dist-portal is missing: run `npm run build` in ui/ (scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        assert!(
            std::env::var_os("ANOLA_REQUIRE_GUI_TESTS").is_none(),
            "{chromium} is missing: scripts/bootstrap.sh installs Debian's chromium"
        );
        eprintln!("skipped: no {chromium}");
        return;
    }
    let ferret = Ferret::start();
    let portal_dir = portal.to_string_lossy().into_owned();
    let server = ServerProc::start(
        free_port(),
        ferret.uri(),
        &unique_db("portal"),
        &[("ANOLA_PORTAL_DIR", &portal_dir)],
    );
    let work = tempfile::tempdir().unwrap();
    let status = Command::new("node")
        .arg(root.join("ui/e2e/portal.e2e.mjs"))
        .current_dir(root.join("ui"))
        .env("PORTAL_BASE", server.url())
        .env("ANOLA_BIN", target_bin("anola"))
        .env("ADMIN_USER", ADMIN)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ADMIN_TOTP_SECRET", ADMIN_TOTP_SECRET)
        .env("WORK_DIR", work.path())
        .env("ARTIFACTS_DIR", root.join("test-artifacts"))
        .env("CHROMIUM", &chromium)
        .status()
        .expect("run node (Node 20+)");
    assert!(status.success(), "the portal's browser test failed (its steps are printed above)");
}
