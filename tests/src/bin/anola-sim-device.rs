//! One device of the simulation as its own process (`tests/tests/simulation.rs`): signs its staff
//! member in again (online through the faulty proxy when it answers, else offline), makes a few
//! random local writes, syncs once, and exits. The simulation SIGKILLs it at random moments, so a
//! real process dies between its local commit and the server's acknowledgement (and anywhere
//! else), and the next process on the same replica must carry on.
//!
//! Usage: `anola-sim-device <device dir> <server url> <seed> <writes> <step>`.

use anola_e2e::sim::{act, Rng};
use anola_e2e::workstations::reopen;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, server, seed, writes, step] = args.as_slice() else {
        eprintln!("usage: anola-sim-device <device dir> <server url> <seed> <writes> <step>");
        std::process::exit(2);
    };
    let (seed, writes, step): (u64, usize, usize) = match (seed.parse(), writes.parse(), step.parse()) {
        (Ok(s), Ok(w), Ok(k)) => (s, w, k),
        _ => {
            eprintln!("seed, writes and step are numbers");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    // Phases go to stderr (the simulation keeps it in `process.log`), so a run's last line says
    // where a SIGKILL found it.
    eprintln!("phase: start");
    rt.block_on(async {
        let (_ws, clinic) = reopen(std::path::Path::new(dir), server).await;
        eprintln!("phase: signed-in");
        let mut rng = Rng::new(seed);
        for k in 0..writes {
            if act(&mut rng, &clinic, step + k) {
                eprintln!("phase: committed");
            }
        }
        eprintln!("phase: syncing");
        // Errors are the faulty network's: whatever was not acknowledged stays in the outbox.
        let _ = clinic.sync_now().await;
        eprintln!("phase: done");
    });
}
