//! Time `decode` on whole camera-sized frames, with and without a readable code, at both
//! efforts: `cargo run --release -p anola-scan --example frame_time`.

use std::time::Instant;

use anola_scan::damage::{self, Damage};
use anola_scan::{decode_with_effort, Effort};

fn main() {
    let mut rng = fastrand::Rng::with_seed(1);
    let payload = damage::shc_payload(&mut rng, 760);
    let code = damage::render(&payload, 4.0, 8).expect("fits a QR code");
    let noise = anola_scan::gray::Gray {
        w: 1280,
        h: 720,
        data: (0..1280 * 720).map(|_| rng.u8(..)).collect(),
    };
    let frames = [
        (
            "960x720 frame, code at 3 px/module",
            Damage::Scene { module_px: 3.0 }.apply(&code.image, 4.0, 3),
        ),
        (
            "960x720 frame, code at 1.6 px/module (unreadable)",
            Damage::Scene { module_px: 1.6 }.apply(&code.image, 4.0, 3),
        ),
        ("1280x720 random pixels", noise),
    ];
    for (name, frame) in &frames {
        let img = damage::to_dynamic(frame);
        for effort in [Effort::Quick, Effort::Thorough] {
            let best = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let _ = decode_with_effort(&img, effort);
                    t.elapsed()
                })
                .min()
                .unwrap_or_default();
            let result = decode_with_effort(&img, effort).map(|d| d.variant).map_err(|e| e.code());
            println!("{name}, {effort:?}: {result:?}, best of 5 {:.1} ms", best.as_secs_f64() * 1e3);
        }
    }
}
