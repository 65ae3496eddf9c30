//! Round trips through the damage generator, and hostile inputs that must give errors, not panics.

use anola_scan::damage::{self, Damage};
use anola_scan::{decode, decode_file, decode_with_effort, Effort, ScanError};
use image::DynamicImage;

fn payloads() -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(5);
    vec![
        damage::card_id_payload(&mut rng),
        damage::shc_payload(&mut rng, 160),
        damage::shc_payload(&mut rng, 760),
    ]
}

fn read(payload: &str, module_px: f64, d: Damage, seed: u64) -> Result<Vec<String>, ScanError> {
    let r = damage::render(payload, module_px, 8).expect("fits a QR code");
    let g = d.apply(&r.image, module_px, seed);
    decode(&damage::to_dynamic(&g))
}

#[test]
fn clean_codes_always_decode() {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut cases: Vec<(String, f64)> = Vec::new();
    for module_px in [2.0, 3.0, 5.0] {
        cases.push((damage::card_id_payload(&mut rng), module_px));
        let d = rng.usize(20..900);
        cases.push((damage::shc_payload(&mut rng, d), module_px));
    }
    cases.push(("https://anola.example/c/AH-0000-0001?x=é✓".into(), 3.0));
    for (p, px) in cases {
        let got = read(&p, px, Damage::Clean, 0).unwrap_or_else(|e| panic!("clean {px} px/module {p:?}: {e}"));
        assert_eq!(got, vec![p]);
    }
}

#[test]
fn each_damage_class_decodes_at_a_moderate_level() {
    let moderate = [
        Damage::Noise { sigma: 40.0 },
        Damage::BoxBlur { radius: 2 },
        Damage::GaussianBlur { sigma: 1.5 },
        Damage::Rotate { degrees: 10.0 },
        Damage::Perspective { strength: 0.1 },
        Damage::Small { module_px: 1.5 },
        Damage::LowContrast { base: 20, range: 20 },
        Damage::Shadow { depth: 0.7 },
        Damage::Jpeg { quality: 15 },
        Damage::MotionBlur { length: 5.0 },
        Damage::Scene { module_px: 3.0 },
        Damage::Photo { level: 0.6 },
    ];
    for (i, p) in payloads().iter().enumerate() {
        for (j, d) in moderate.iter().enumerate() {
            let got = read(p, 4.0, *d, (i * 100 + j) as u64).unwrap_or_else(|e| panic!("{d:?} on payload {i}: {}", e.code()));
            assert_eq!(&got, &vec![p.clone()], "{d:?} on payload {i}");
        }
    }
}

#[test]
fn quick_effort_reads_clean_and_moderate_captures_and_reports_the_variant() {
    for (i, p) in payloads().iter().enumerate() {
        let r = damage::render(p, 3.0, 8).expect("fits");
        for d in [Damage::Clean, Damage::Noise { sigma: 30.0 }, Damage::Perspective { strength: 0.08 }] {
            let g = d.apply(&r.image, 3.0, i as u64);
            let got = decode_with_effort(&damage::to_dynamic(&g), Effort::Quick).unwrap_or_else(|e| panic!("{d:?} {i}: {e}"));
            assert_eq!(got.texts, vec![p.clone()]);
            assert!(got.variant.starts_with("locate"), "{}", got.variant);
        }
    }
    // Nothing there: both efforts say so.
    let blank = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(320, 240, image::Luma([200])));
    assert_eq!(decode_with_effort(&blank, Effort::Quick).unwrap_err().code(), "no_code_found");
    assert_eq!(decode_with_effort(&blank, Effort::Thorough).unwrap_err().code(), "no_code_found");
}

#[test]
fn any_rotation_reads() {
    // The locator does not care which way up the card is held.
    let p = &payloads()[2];
    let r = damage::render(p, 3.0, 14).expect("fits");
    for deg in [30.0, 45.0, 90.0, 135.0, 180.0, 270.0, 315.0] {
        let g = r.image.rotate(deg, 255);
        assert_eq!(
            decode(&damage::to_dynamic(&g)).unwrap_or_else(|e| panic!("{deg}°: {e}")),
            vec![p.clone()]
        );
    }
}

#[test]
fn hostile_images_give_errors_not_panics() {
    // Empty and tiny.
    let empty = DynamicImage::new_luma8(0, 0);
    assert_eq!(decode(&empty).unwrap_err().code(), "image_unreadable");
    assert_eq!(decode(&DynamicImage::new_luma8(1, 1)).unwrap_err().code(), "no_code_found");
    assert_eq!(decode(&DynamicImage::new_luma8(20, 500)).unwrap_err().code(), "no_code_found");
    // Flat white, flat black.
    assert!(decode(&DynamicImage::new_luma8(300, 200)).is_err());
    let mut white = image::GrayImage::new(200, 300);
    white.pixels_mut().for_each(|p| p.0[0] = 255);
    assert_eq!(decode(&DynamicImage::ImageLuma8(white)).unwrap_err().code(), "no_code_found");
    // Random pixels, several sizes and colour types.
    let mut rng = fastrand::Rng::with_seed(99);
    for (w, h) in [(21, 21), (64, 37), (257, 255), (600, 40)] {
        let px: Vec<u8> = (0..w * h).map(|_| rng.u8(..)).collect();
        let img = DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, px).unwrap());
        assert!(decode(&img).is_err());
        let px: Vec<u8> = (0..w * h * 4).map(|_| rng.u8(..)).collect();
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, px).unwrap());
        assert!(decode(&img).is_err());
    }
    // A code cut in half: found or not, it must not read and must not panic.
    let r = damage::render(&payloads()[2], 3.0, 0).unwrap();
    let half = image::GrayImage::from_fn(r.image.w as u32 / 2, r.image.h as u32, |x, y| {
        image::Luma([r.image.at(x as usize, y as usize)])
    });
    assert!(decode(&DynamicImage::ImageLuma8(half)).is_err());
}

#[test]
fn finder_lookalikes_and_fragments_never_panic() {
    // Random rectangles, concentric squares that look like finder and alignment patterns, and
    // fragments of real codes at random places and scales: the locator's worst inputs.
    let mut rng = fastrand::Rng::with_seed(2024);
    let code = damage::render(&payloads()[2], 2.0, 0).expect("fits");
    for i in 0..16 {
        let (w, h) = (rng.usize(40..220), rng.usize(40..220));
        let mut g = anola_scan::gray::Gray::new(w, h, rng.u8(100..255));
        for _ in 0..rng.usize(0..30) {
            let s = rng.usize(3..40);
            let (x0, y0) = (rng.usize(0..w), rng.usize(0..h));
            let rings = rng.bool();
            for y in y0..(y0 + s).min(h) {
                for x in x0..(x0 + s).min(w) {
                    let ring = (x - x0).min(y - y0).min(s - 1 - (x - x0)).min(s - 1 - (y - y0)) * 7 / s.max(1);
                    let dark = if rings { ring != 1 } else { true };
                    g.data[y * w + x] = if dark { rng.u8(0..60) } else { rng.u8(190..255) };
                }
            }
        }
        // A fragment of a real code.
        let (cx, cy) = (rng.usize(0..code.image.w), rng.usize(0..code.image.h));
        for y in 0..h.min(code.image.h - cy) {
            for x in 0..w.min(code.image.w - cx) {
                if (x + y + i) % 3 != 0 {
                    g.data[y * w + x] = code.image.at(cx + x, cy + y);
                }
            }
        }
        let img = damage::to_dynamic(&g);
        let effort = if i % 4 == 0 { Effort::Thorough } else { Effort::Quick };
        let _ = decode_with_effort(&img, effort);
        let _ = decode_with_effort(&damage::to_dynamic(&g.rotate(rng.f64() * 360.0, 128)), Effort::Quick);
    }
}

#[test]
fn transparent_png_reads_over_white() {
    let p = "AH-TRAN-SPAR";
    let r = damage::render(p, 4.0, 2).unwrap();
    // Black modules opaque, white modules fully transparent (and black underneath).
    let rgba = image::RgbaImage::from_fn(r.image.w as u32, r.image.h as u32, |x, y| {
        let v = r.image.at(x as usize, y as usize);
        image::Rgba([0, 0, 0, 255 - v])
    });
    assert_eq!(decode(&DynamicImage::ImageRgba8(rgba)).unwrap(), vec![p.to_string()]);
}

#[test]
fn huge_images_are_downscaled_first() {
    let p = "AH-HUGE-0001";
    let r = damage::render(p, 40.0, 0).unwrap(); // 29 modules * 40 px = 1160 px
    let mut big = image::GrayImage::new(3000, 2000);
    big.pixels_mut().for_each(|px| px.0[0] = 255);
    image::imageops::replace(&mut big, &r.image.to_image(), 900, 400);
    let t0 = std::time::Instant::now();
    assert_eq!(decode(&DynamicImage::ImageLuma8(big)).unwrap(), vec![p.to_string()]);
    assert!(t0.elapsed().as_secs() < 20);
}

#[test]
fn files_bad_and_good() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(decode_file(dir.path().join("missing.png")).unwrap_err().code(), "image_unreadable");
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"\x89PNG\r\n\x1a\nnot really a png").unwrap();
    assert_eq!(decode_file(&junk).unwrap_err().code(), "image_unreadable");
    let random = dir.path().join("random.jpg");
    let mut rng = fastrand::Rng::with_seed(3);
    std::fs::write(&random, (0..4096).map(|_| rng.u8(..)).collect::<Vec<u8>>()).unwrap();
    assert_eq!(decode_file(&random).unwrap_err().code(), "image_unreadable");

    // A valid PNG, then the same file truncated.
    let p = damage::shc_payload(&mut rng, 300);
    let r = damage::render(&p, 3.0, 4).unwrap();
    let good = dir.path().join("good.png");
    r.image.to_image().save(&good).unwrap();
    assert_eq!(decode_file(&good).unwrap(), vec![p]);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.png");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(decode_file(&cut).unwrap_err().code(), "image_unreadable");

    // A PNG header claiming 100,000 x 100,000 pixels is refused before allocation.
    let mut header = Vec::new();
    header.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(b"IHDR");
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    header.extend_from_slice(&13u32.to_be_bytes());
    header.extend_from_slice(&ihdr);
    header.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    let bomb = dir.path().join("bomb.png");
    std::fs::write(&bomb, &header).unwrap();
    assert_eq!(decode_file(&bomb).unwrap_err().code(), "image_unreadable");
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(ScanError::NoCodeFound.code(), "no_code_found");
    assert_eq!(ScanError::Unreadable.code(), "unreadable");
    assert_eq!(ScanError::ImageUnreadable("x".into()).code(), "image_unreadable");
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
