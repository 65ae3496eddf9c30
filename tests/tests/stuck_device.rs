//! No device is ever stuck by one write: a change too large to ever travel is refused at the desk
//! (the same size limits as the server), and one a server with a lower body limit refuses (413) is
//! set aside with its reason while every other change leaves and everything new still arrives.

use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, unique_db};

fn add(d: &Device, given: &str) -> String {
    d.ok(&["patient", "add", "--given", given, "--family", "Queue", "--dob", "1990-01-01"])["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_oversized_change_is_set_aside_and_the_queue_goes_on() {
    let ferret = Ferret::start();
    // A server that takes 64 KiB bodies at most.
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("stuck"), &[("ANOLA_MAX_BODY_BYTES", "65536")]);
    let dirs = tempfile::tempdir().unwrap();
    let a = Device::new(&dirs.path().join("a"), &server.url());
    let b = Device::new(&dirs.path().join("b"), &server.url());

    // A diagnosis description past the text limit, and a record past the size limit in allowed
    // parts: both refused at the desk, naming what is wrong; nothing queued.
    let p = add(&a, "Before");
    let long = format!("I10:{}", "x".repeat(100_000));
    let parts: Vec<String> = (0..15).map(|i| format!("--diagnosis=J{i:02}:{}", "z".repeat(20_000))).collect();
    let mut too_big = vec!["record", "add", "--patient", p.as_str()];
    too_big.extend(parts.iter().map(String::as_str));
    for (args, names) in [
        (
            vec!["record", "add", "--patient", p.as_str(), "--diagnosis", long.as_str()],
            "diagnoses[0].description",
        ),
        (too_big, "too_large"),
    ] {
        let r = a.run(&args);
        assert_ne!(r.code, 0, "an oversized record was accepted on the device");
        let said = format!("{} {}", r.json, r.stderr);
        assert!(said.contains(names), "the error names {names}: {said}");
    }
    assert_eq!(a.ok(&["status"])["pending"], 1, "only the patient is queued");

    // About 100 KB: fine for the device and the protocol, too large for this server's limit.
    let big: Vec<String> = (0..5).map(|i| format!("--diagnosis=I1{i}:{}", "y".repeat(20_000))).collect();
    let mut args = vec!["record", "add", "--patient", p.as_str()];
    args.extend(big.iter().map(String::as_str));
    a.ok(&args);
    let after = add(&a, "After");
    let elsewhere = add(&b, "Elsewhere");
    b.ok(&["sync"]);

    a.ok(&["sync"]);
    let status = a.ok(&["status"]);
    assert_eq!(status["pending"], 0, "everything else left: {status}");
    let rejected = a.ok(&["rejected"]);
    let list = rejected.as_array().unwrap();
    assert_eq!(list.len(), 1, "{rejected}");
    assert!(list[0].to_string().contains("too_large"), "{rejected}");
    let ids = |d: &Device| -> Vec<String> {
        d.ok(&["patient", "list", "--limit", "100"])
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(&a).contains(&elsewhere), "the pull ran: another device's patient arrived");
    b.ok(&["sync"]);
    let on_b = ids(&b);
    assert!(on_b.contains(&p) && on_b.contains(&after), "the writes around it arrived: {on_b:?}");
    // And the next sync is clean.
    a.ok(&["sync"]);
}
