//! Issue → encode → decode → verify round trips, and every way a card can be refused.

use std::sync::OnceLock;

use anola_cards::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use proptest::prelude::*;
use uuid::Uuid;

const ISS: &str = "https://sync.anola.example";
/// 2026-01-01T00:00:00Z
const T0: i64 = 1_767_225_600;
const YEAR: i64 = 365 * 24 * 3600;

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(SigningKey::generate)
}

fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(SigningKey::generate)
}

fn jwks() -> JwkSet {
    JwkSet::new(vec![key().public_jwk()])
}

fn claims(card_id: &str) -> CardClaims {
    CardClaims::new(
        ISS,
        key(),
        card_id,
        Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef),
        T0,
        T0 + 5 * YEAR,
    )
}

fn check(input: &str) -> Result<VerifiedCard, CardError> {
    verify(input, &jwks(), &[ISS], &RevocationList::new(), T0 + 3600)
}

fn code_of(input: &str) -> &'static str {
    match check(input) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// Signs arbitrary header and payload bytes with a raw P-256 key (for crafted tokens).
fn sign_raw(signer: &SigningKey, header: &str, payload: &[u8]) -> String {
    let raw = p256::ecdsa::SigningKey::from_slice(&signer.to_scalar_bytes()[..]).unwrap();
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let sig: p256::ecdsa::Signature = raw.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn header_for(kid: &str) -> String {
    format!(r#"{{"alg":"ES256","kid":"{kid}","zip":"DEF"}}"#)
}

fn deflate(json: &str) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 6)
}

#[test]
fn round_trip_and_format() {
    let c = claims("AH-LZ3K9Q2A-1A2B3C");
    let jws = issue(&c, key()).unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header, serde_json::json!({"alg": "ES256", "kid": key().kid(), "zip": "DEF"}));
    // Raw DEFLATE (no zlib header) of minified JSON with short keys.
    let json = miniz_oxide::inflate::decompress_to_vec(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let json = String::from_utf8(json).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"v":1,"iss":"{ISS}","cid":"AH-LZ3K9Q2A-1A2B3C","pid":"12345678-9abc-4def-8123-456789abcdef","iat":{T0},"exp":{}}}"#,
            T0 + 5 * YEAR
        )
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);

    let qr = encode_qr_text(&jws).unwrap();
    assert!(qr.starts_with("shc:/"));
    assert!(qr[5..].bytes().all(|b| b.is_ascii_digit()));
    // RFC 6979 signatures are deterministic: issuing twice gives the same card.
    assert_eq!(qr, issue_qr_text(&c, key()).unwrap());
    assert_eq!(decode_qr_text(&qr).unwrap(), jws);

    for input in [qr.clone(), jws.clone(), format!("{qr}\r\n"), format!("  {jws}\n")] {
        let card = check(&input).unwrap();
        assert_eq!(card.claims, c);
    }
    assert_eq!(decode_unverified(&qr).unwrap(), c);
}

#[test]
fn typical_and_worst_case_tokens_fit_qr_version_22_at_level_m() {
    // Typical cards: our issuer URL, a seed-style card id, random patients and dates.
    let mut versions = Vec::new();
    let mut lengths = Vec::new();
    for i in 0..40u32 {
        let card_id = format!("AH-{}-{:06X}", 36u64.pow(7) + u64::from(i) * 7_919_777, i * 104_729);
        let c = CardClaims::new(ISS, key(), card_id, Uuid::new_v4(), T0 + i64::from(i) * 86_400, T0 + 5 * YEAR);
        let qr = issue_qr_text(&c, key()).unwrap();
        versions.push(card_qr_version(&qr).unwrap());
        lengths.push(qr.len());
    }
    let typical = issue_qr_text(&claims("AH-LZ3K9Q2A-1A2B3C"), key()).unwrap();
    let typical_version = card_qr_version(&typical).unwrap();
    println!(
        "typical: QR text {}..={} chars, versions {}..={}",
        lengths.iter().min().unwrap(),
        lengths.iter().max().unwrap(),
        versions.iter().min().unwrap(),
        versions.iter().max().unwrap()
    );
    assert!(versions.iter().all(|&v| v <= 14), "{versions:?}");
    // A long issuer URL and the longest card id the protocol allows.
    let long_iss = "https://sync.eastern-region.clinic-network.anola-health.example.org";
    let worst = CardClaims::new(
        long_iss,
        key(),
        format!("AH-{}", "Z".repeat(37)),
        Uuid::new_v4(),
        i64::MAX / 4,
        i64::MAX / 2,
    );
    let worst = issue_qr_text(&worst, key()).unwrap();
    let worst_version = card_qr_version(&worst).unwrap();
    println!(
        "typical: JWS {} chars, QR text {} chars, version {typical_version}; worst: JWS {} chars, QR text {} chars, version {worst_version}; \
         level-M version-22 budget: {} chars of QR text",
        (typical.len() - 5) / 2,
        typical.len(),
        (worst.len() - 5) / 2,
        worst.len(),
        max_qr_text_len()
    );
    assert!(worst_version <= MAX_QR_VERSION);
    let code = card_qr_code(&typical).unwrap();
    assert_eq!(code.error_correction_level(), QR_EC_LEVEL);
    assert_eq!(code.width(), 17 + 4 * usize::try_from(typical_version).unwrap());
    // The verifier's input bound is above anything a level-M version-22 card can hold.
    assert!(max_qr_text_len() <= MAX_INPUT_LEN);
    assert!(card_qr_code("not a card").is_err());
    assert_eq!(
        card_qr_code(&format!("shc:/{}", "00".repeat(2000))).err().unwrap().code(),
        "too_large"
    );
}

#[test]
fn another_key_is_unknown_and_a_borrowed_kid_is_forged() {
    // Signed by a key the device does not know: unknown_key.
    let theirs = CardClaims::new(ISS, other_key(), "AH-ABCD-EFGH", Uuid::new_v4(), T0, T0 + YEAR);
    let jws = issue(&theirs, other_key()).unwrap();
    let err = check(&jws).unwrap_err();
    assert_eq!(err.code(), "unknown_key");
    assert!(err.to_string().contains(other_key().kid()));

    // Signed by another key but naming our kid: forged.
    let c = claims("AH-ABCD-EFGH");
    let payload = miniz_oxide::inflate::decompress_to_vec(
        &URL_SAFE_NO_PAD
            .decode(issue(&c, key()).unwrap().split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let forged = sign_raw(
        other_key(),
        &header_for(key().kid()),
        &miniz_oxide::deflate::compress_to_vec(&payload, 10),
    );
    assert_eq!(code_of(&forged), "forged");
    assert_eq!(code_of(&encode_qr_text(&forged).unwrap()), "forged");

    // Our header and payload, their signature: forged.
    let ours = issue(&c, key()).unwrap();
    let (input, _) = ours.rsplit_once('.').unwrap();
    let theirs_sig = forged.rsplit_once('.').unwrap().1;
    assert_eq!(code_of(&format!("{input}.{theirs_sig}")), "forged");

    // The same kid in a key set but with the other key's coordinates is not usable: unknown_key.
    let mut bad = other_key().public_jwk();
    bad.kid = key().kid().to_owned();
    assert_eq!(
        verify(&ours, &JwkSet::new(vec![bad]), &[ISS], &RevocationList::new(), T0)
            .unwrap_err()
            .code(),
        "unknown_key"
    );

    // After a rotation both keys verify.
    let rotated = JwkSet::new(vec![other_key().public_jwk(), key().public_jwk()]);
    verify(&ours, &rotated, &[ISS], &RevocationList::new(), T0).unwrap();
    verify(&jws, &rotated, &[ISS], &RevocationList::new(), T0).unwrap();
}

#[test]
fn refusals_with_their_messages() {
    let mut revoked = RevocationList::new();
    revoked.revoke("AH-LOST-0001");
    let run = |c: &CardClaims, trusted: &[&str], now: i64| verify(&issue_qr_text(c, key()).unwrap(), &jwks(), trusted, &revoked, now);

    let ok = claims("AH-GOOD-0001");
    run(&ok, &[ISS], T0).unwrap();
    run(&ok, &["https://sync.anola.example/"], T0).unwrap();
    run(&ok, &[ISS], T0 - CLOCK_SKEW_SECS).unwrap();
    run(&ok, &[ISS], ok.expires - 1).unwrap();

    let e = run(&ok, &[ISS], ok.expires).unwrap_err();
    assert_eq!(
        e,
        CardError::Expired {
            card_id: "AH-GOOD-0001".into(),
            expires: ok.expires
        }
    );
    assert_eq!(
        e.to_string(),
        "card AH-GOOD-0001 expired on 2030-12-31; issue the patient a new card"
    );

    let e = run(&ok, &[ISS], T0 - CLOCK_SKEW_SECS - 1).unwrap_err();
    assert_eq!(e.code(), "not_yet_valid");
    assert!(e.to_string().contains("2026-01-01"), "{e}");

    let e = run(&claims("AH-LOST-0001"), &[ISS], T0).unwrap_err();
    assert_eq!(e.code(), "revoked");
    assert!(e.to_string().contains("AH-LOST-0001"));
    // Revocation is reported even when the card has also expired.
    assert_eq!(run(&claims("AH-LOST-0001"), &[ISS], T0 + 10 * YEAR).unwrap_err().code(), "revoked");

    let e = run(&ok, &["https://other.example"], T0).unwrap_err();
    assert_eq!(e, CardError::ForeignIssuer { iss: ISS.into() });
    assert_eq!(run(&ok, &[], T0).unwrap_err().code(), "foreign_issuer");
    assert_eq!(
        run(&ok, &["https://sync.anola.example.evil"], T0).unwrap_err().code(),
        "foreign_issuer"
    );

    // Every code is distinct and every message is a sentence.
    let all = [
        CardError::Malformed { reason: "x".into() },
        CardError::TooLarge { len: 9, max: 1 },
        CardError::UnknownKey { kid: "k".into() },
        CardError::Forged,
        CardError::ForeignIssuer { iss: "i".into() },
        CardError::Expired {
            card_id: "AH-1".into(),
            expires: 0,
        },
        CardError::NotYetValid {
            card_id: "AH-1".into(),
            issued: 0,
        },
        CardError::Revoked { card_id: "AH-1".into() },
    ];
    let mut codes: Vec<_> = all.iter().map(CardError::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
    assert!(all.iter().all(|e| e.to_string().len() > 20));
}

#[test]
fn issuance_refuses_bad_claims() {
    let mut c = claims("AH-GOOD-0001");
    c.kid = other_key().kid().to_owned();
    assert_eq!(issue(&c, key()).unwrap_err().code(), "kid_mismatch");
    for bad in [
        CardClaims {
            card_id: "XX-1234".into(),
            ..claims("AH-1")
        },
        CardClaims {
            iss: String::new(),
            ..claims("AH-1")
        },
        CardClaims {
            iss: "https://a b".into(),
            ..claims("AH-1")
        },
        CardClaims {
            expires: T0,
            ..claims("AH-1")
        },
        CardClaims { v: 2, ..claims("AH-1") },
    ] {
        assert_eq!(issue(&bad, key()).unwrap_err().code(), "invalid_claims", "{bad:?}");
    }
    let huge = CardClaims {
        iss: format!("https://{}", "a".repeat(190)),
        ..claims("AH-1")
    };
    issue(&huge, key()).unwrap();
}

#[test]
fn crafted_tokens_signed_by_our_key_are_still_checked() {
    let kid = key().kid();
    let good_json = format!(
        r#"{{"v":1,"iss":"{ISS}","cid":"AH-1","pid":"{}","iat":{T0},"exp":{}}}"#,
        Uuid::nil(),
        T0 + YEAR
    );
    assert_eq!(code_of(&sign_raw(key(), &header_for(kid), &deflate(&good_json))), "ok");
    let cases: Vec<(String, Vec<u8>)> = vec![
        // Another algorithm, no compression, critical extensions.
        (format!(r#"{{"alg":"none","kid":"{kid}","zip":"DEF"}}"#), deflate(&good_json)),
        (format!(r#"{{"alg":"HS256","kid":"{kid}","zip":"DEF"}}"#), deflate(&good_json)),
        (format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#), good_json.clone().into_bytes()),
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","zip":"DEF","crit":["exp"]}}"#),
            deflate(&good_json),
        ),
        ("not json".into(), deflate(&good_json)),
        // A zip bomb: inflates far past the payload bound.
        (header_for(kid), deflate(&format!(r#"{{"v":1,"iss":"{}"}}"#, "a".repeat(100_000)))),
        // Not DEFLATE, not JSON, missing fields, bad values, unknown version.
        (header_for(kid), good_json.clone().into_bytes()),
        (header_for(kid), deflate("[1,2,3]")),
        (header_for(kid), deflate(r#"{"v":1}"#)),
        (header_for(kid), deflate(&good_json.replace("AH-1", "NOT-A-CARD"))),
        (header_for(kid), deflate(&good_json.replace(r#""v":1"#, r#""v":9"#))),
        (header_for(kid), deflate(&good_json.replace(r#""v":1"#, r#""v":-1"#))),
        (header_for(kid), deflate(&good_json.replace(&Uuid::nil().to_string(), "nope"))),
        (header_for(kid), deflate(&good_json.replace(&format!("{}", T0 + YEAR), "1"))),
    ];
    for (header, payload) in cases {
        let jws = sign_raw(key(), &header, &payload);
        assert_eq!(code_of(&jws), "malformed", "{header} {}", String::from_utf8_lossy(&payload));
    }
}

#[test]
fn truncated_inputs_are_refused() {
    let qr = issue_qr_text(&claims("AH-TRUNC-0001"), key()).unwrap();
    let jws = decode_qr_text(&qr).unwrap();
    for cut in 0..qr.len() {
        let code = code_of(&qr[..cut]);
        assert!(["malformed", "forged"].contains(&code), "cut {cut}: {code}");
    }
    for cut in 0..jws.len() {
        let code = code_of(&jws[..cut]);
        assert!(["malformed", "forged"].contains(&code), "cut {cut}: {code}");
    }
}

#[test]
fn oversized_inputs_are_refused_before_decoding() {
    let big = format!("shc:/{}", "56".repeat(MAX_JWS_LEN + 1));
    assert_eq!(
        check(&big).unwrap_err(),
        CardError::TooLarge {
            len: big.len(),
            max: MAX_INPUT_LEN
        }
    );
    // Even garbage: the size is checked first.
    assert_eq!(code_of(&"\u{0}".repeat(10_000_000)), "too_large");
    // A bare JWS longer than any card.
    let jws = format!("{}.{}.{}", "e".repeat(600), "e".repeat(600), "e".repeat(86));
    assert_eq!(
        check(&jws).unwrap_err(),
        CardError::TooLarge {
            len: jws.len(),
            max: MAX_JWS_LEN
        }
    );
    // Just inside the bound: decoded, then refused for what it is.
    assert_eq!(code_of(&format!("shc:/{}", "56".repeat(MAX_JWS_LEN))), "malformed");
}

#[test]
fn empty_and_odd_inputs() {
    for input in [
        "",
        " ",
        "\n",
        "shc:/",
        "shc:/1",
        "shc:/99",
        "..",
        "a.b.c",
        "a..c",
        "shc:/000000",
        "SHC:/5676",
        "https://anola.example/patient/1",
    ] {
        assert_eq!(code_of(input), "malformed", "{input:?}");
    }
}

fn flip(s: &str, pos: usize, with: char) -> String {
    let mut out: Vec<char> = s.chars().collect();
    out[pos] = with;
    out.into_iter().collect()
}

fn token() -> &'static str {
    static JWS: OnceLock<String> = OnceLock::new();
    JWS.get_or_init(|| issue(&claims("AH-FLIP-0001"), key()).unwrap())
}

const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn random_claims_round_trip(
        host in "[a-z]{1,20}(\\.[a-z]{2,10}){1,3}",
        card in "AH-[A-Z0-9]{4,10}-[A-Z0-9]{4,8}",
        patient in any::<u128>(),
        issued in 0i64..4_000_000_000,
        life in 1i64..(30 * YEAR),
        at in 0.0f64..1.0,
    ) {
        let iss = format!("https://{host}");
        let c = CardClaims::new(iss.clone(), key(), card, Uuid::from_u128(patient), issued, issued + life);
        let qr = issue_qr_text(&c, key()).unwrap();
        prop_assert!(qr.len() <= max_qr_text_len());
        let now = issued + ((life - 1) as f64 * at) as i64;
        let card = verify(&qr, &jwks(), &[iss.as_str()], &RevocationList::new(), now).unwrap();
        prop_assert_eq!(card.claims, c);
    }

    #[test]
    fn one_flipped_character_is_caught(pos in 0usize..2000, pick in 0usize..64) {
        let jws = token();
        let pos = pos % jws.len();
        let original = jws.as_bytes()[pos] as char;
        let mut with = B64URL.as_bytes()[pick] as char;
        if with == original {
            with = if original == 'A' { 'B' } else { 'A' };
        }
        let tampered = flip(jws, pos, with);
        let header_len = jws.find('.').unwrap();
        let code = code_of(&tampered);
        if pos < header_len {
            // A changed header may name a key this device does not have.
            prop_assert!(["forged", "malformed", "unknown_key"].contains(&code), "pos {} → {}", pos, code);
        } else {
            prop_assert!(["forged", "malformed"].contains(&code), "pos {} → {}", pos, code);
        }
    }

    #[test]
    fn one_changed_digit_in_the_qr_text_is_caught(pos in 0usize..2000, digit in 0u8..10) {
        let qr = encode_qr_text(token()).unwrap();
        let pos = 5 + pos % (qr.len() - 5);
        prop_assume!(qr.as_bytes()[pos] != b'0' + digit);
        let tampered = flip(&qr, pos, char::from(b'0' + digit));
        let code = code_of(&tampered);
        prop_assert!(["forged", "malformed", "unknown_key"].contains(&code), "pos {} → {}", pos, code);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_verify_or_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(check(&text).is_err());
        let prefixed = format!("shc:/{text}");
        prop_assert!(check(&prefixed).is_err());
        let _ = decode_unverified(&text);
        let _ = check_fallback_format(&text);
    }

    #[test]
    fn random_digits_never_verify_or_panic(digits in "[0-9]{0,2500}") {
        let text = format!("shc:/{digits}");
        prop_assert!(check(&text).is_err());
        let _ = decode_qr_text(&text);
        let _ = card_qr_version(&text);
    }

    #[test]
    fn random_jws_shaped_text_never_verifies(a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,300}", c in "[A-Za-z0-9_-]{0,100}") {
        let jws = format!("{a}.{b}.{c}");
        prop_assert!(check(&jws).is_err());
        prop_assert!(check(&encode_qr_text(&jws).unwrap()).is_err());
        // With our real header, the payload and signature are what is checked.
        let header = token().split('.').next().unwrap();
        let code = code_of(&format!("{header}.{b}.{c}"));
        prop_assert!(["forged", "malformed"].contains(&code), "{}", code);
    }

    #[test]
    fn numeric_encoding_round_trips(jws in "[A-Za-z0-9_.-]{1,400}") {
        let qr = encode_qr_text(&jws).unwrap();
        prop_assert_eq!(qr.len(), 5 + 2 * jws.len());
        prop_assert_eq!(decode_qr_text(&qr).unwrap(), jws);
    }
}
