//! The camera path fed with recorded frames (there is no camera on the build machines): a
//! recording of a desk, a card held up in several positions, the desk again.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anola_camera::{CameraEvent, CameraInfo, CameraKind, Cameras, Opener, RecordedFrames, ScanSession, SessionSettings};
use anola_scan::damage::{self, Damage};

const CARD: &str = "shc:/567629095243206034602924374044603122295953265460346029254077280433602870286471674522280928613331456437653141590640220306450459085643550341424541364037063665417137241236380304375622046737407532323925433443326057360106452931611232742528435076726567";

/// `n` frames of a desk with the card at seeded places, angles and tilts, between `blank`
/// frames of an empty desk on each side.
fn record(dir: &Path, blank: usize, n: usize) {
    let rendered = damage::render(CARD, 4.0, 2).unwrap();
    let empty = damage::render("x", 4.0, 2).unwrap();
    let mut i = 0;
    let mut save = |g: &anola_scan::gray::Gray| {
        damage::to_dynamic(g).save(dir.join(format!("frame-{i:03}.png"))).unwrap();
        i += 1;
    };
    // An empty desk: the scene without a code (a blank white card, nothing to read).
    let white = anola_scan::gray::Gray::new(empty.image.w, empty.image.h, 255);
    for s in 0..blank {
        save(&Damage::Scene { module_px: 3.0 }.apply(&white, 4.0, 100 + s as u64));
    }
    for s in 0..n {
        save(&Damage::Scene { module_px: 3.2 }.apply(&rendered.image, 4.0, 7 + s as u64));
    }
    for s in 0..blank {
        save(&Damage::Scene { module_px: 3.0 }.apply(&white, 4.0, 200 + s as u64));
    }
}

fn collect() -> (Arc<Mutex<Vec<CameraEvent>>>, anola_camera::EventSink) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        Arc::new(move |e: CameraEvent| events.lock().unwrap().push(e)) as anola_camera::EventSink
    };
    (events, sink)
}

fn wait_for(events: &Mutex<Vec<CameraEvent>>, what: impl Fn(&CameraEvent) -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if events.lock().unwrap().iter().any(&what) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn info() -> CameraInfo {
    CameraInfo {
        id: "recorded".into(),
        name: "test".into(),
        kind: CameraKind::Recorded,
    }
}

#[test]
fn a_card_held_up_to_the_camera_is_reported_once_with_previews_and_the_end() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 3, 8);
    let (events, sink) = collect();
    let path = dir.path().to_owned();
    // Slow enough that the decoder sees most card frames (debug builds decode slowly).
    let opener: Opener = Box::new(move || Ok(Box::new(RecordedFrames::open(&path, 4.0, false)?) as _));
    let session = ScanSession::start(info(), opener, SessionSettings::default(), sink);
    assert!(
        wait_for(&events, |e| matches!(e, CameraEvent::Stopped { .. })),
        "the recording never ended"
    );
    drop(session);

    let events = events.lock().unwrap();
    assert!(
        matches!(
            events.first(),
            Some(CameraEvent::Started {
                width: 960,
                height: 720,
                ..
            })
        ),
        "{:?}",
        events.first().map(kind)
    );
    let scans: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            CameraEvent::Scanned { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(scans, vec![CARD], "one read for a card held in view over several frames");
    let previews: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            CameraEvent::Preview { data_url, width, .. } => {
                assert_eq!(*width, 480);
                Some(data_url)
            }
            _ => None,
        })
        .collect();
    assert!(previews.len() >= 5, "only {} previews", previews.len());
    assert!(previews.iter().all(|p| p.starts_with("data:image/jpeg;base64,/9j/")));
    assert!(matches!(
        events.last(),
        Some(CameraEvent::Stopped { code: Some(c), .. }) if c == "camera_ended"
    ));
}

#[test]
fn the_same_card_shown_again_after_a_pause_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 2, 3);
    let (events, sink) = collect();
    let settings = SessionSettings {
        repeat_after: Duration::from_millis(1),
        ..SessionSettings::default()
    };
    let path = dir.path().to_owned();
    // Looping: the card comes round again, after blank frames.
    let opener: Opener = Box::new(move || Ok(Box::new(RecordedFrames::open(&path, 6.0, true)?) as _));
    let session = ScanSession::start(info(), opener, settings, sink);
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        let n = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, CameraEvent::Scanned { .. }))
            .count();
        if n >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    session.stop();
    let n = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, CameraEvent::Scanned { .. }))
        .count();
    assert!(n >= 2, "read {n} times");
}

#[test]
fn cameras_lists_the_recording_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 1, 1);
    let cameras = Cameras::new(Some((dir.path().to_owned(), 30.0)), SessionSettings::default());
    let list = cameras.list();
    assert_eq!(list.first().map(|c| c.id.as_str()), Some("recorded"));
    let (events, sink) = collect();
    cameras.start("recorded", sink).unwrap();
    assert!(wait_for(&events, |e| matches!(e, CameraEvent::Started { .. })));
    assert!(cameras.is_running());
    cameras.stop();
    assert!(!cameras.is_running());
    // Stopped on purpose: no error event.
    assert!(!events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, CameraEvent::Stopped { code: Some(_), .. })));
}

#[test]
fn unknown_and_unopenable_cameras_get_their_codes() {
    let cameras = Cameras::new(None, SessionSettings::default());
    let (_, sink) = collect();
    assert_eq!(cameras.start("recorded", sink.clone()).unwrap_err().code(), "camera_not_found");
    assert_eq!(cameras.start("native:x", sink.clone()).unwrap_err().code(), "camera_not_found");
    // A camera index that exists on no machine: the failure arrives as an event.
    let (events, sink) = collect();
    let started = cameras.start("native:97", sink);
    if started.is_ok() {
        assert!(wait_for(&events, |e| matches!(e, CameraEvent::Stopped { code: Some(_), .. })));
    }
    // An empty directory is not a camera.
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        RecordedFrames::open(dir.path(), 15.0, false).err().map(|e| e.code()),
        Some("camera_unavailable")
    );
}

fn kind(e: &CameraEvent) -> &'static str {
    match e {
        CameraEvent::Started { .. } => "started",
        CameraEvent::Preview { .. } => "preview",
        CameraEvent::Scanned { .. } => "scanned",
        CameraEvent::Stopped { .. } => "stopped",
    }
}

/// A camera whose driver panics on its second frame, or blocks forever.
struct Faulty {
    frames: usize,
    hang: bool,
}

impl anola_camera::FrameSource for Faulty {
    fn next_frame(&mut self) -> Result<anola_camera::Frame, anola_camera::CameraError> {
        self.frames += 1;
        if self.frames > 1 {
            if self.hang {
                std::thread::sleep(Duration::from_secs(3600));
            }
            panic!("driver bug");
        }
        Ok(anola_camera::Frame {
            image: image::DynamicImage::new_luma8(64, 48),
            captured: Instant::now(),
        })
    }
}

#[test]
fn a_driver_panic_ends_the_session_with_camera_failed_as_the_last_event() {
    let (events, sink) = collect();
    let opener: Opener = Box::new(|| Ok(Box::new(Faulty { frames: 0, hang: false }) as _));
    let session = ScanSession::start(info(), opener, SessionSettings::default(), sink);
    assert!(wait_for(&events, |e| matches!(e, CameraEvent::Stopped { .. })));
    std::thread::sleep(Duration::from_millis(200));
    drop(session);
    let events = events.lock().unwrap();
    assert!(matches!(
        events.last(),
        Some(CameraEvent::Stopped { code: Some(c), .. }) if c == "camera_failed"
    ));
    assert_eq!(events.iter().filter(|e| matches!(e, CameraEvent::Stopped { .. })).count(), 1);
}

#[test]
fn a_stop_returns_even_when_the_driver_hangs_and_nothing_follows_it() {
    let (events, sink) = collect();
    let opener: Opener = Box::new(|| Ok(Box::new(Faulty { frames: 0, hang: true }) as _));
    let session = ScanSession::start(info(), opener, SessionSettings::default(), sink);
    assert!(wait_for(&events, |e| matches!(e, CameraEvent::Started { .. })));
    let t = Instant::now();
    session.stop();
    assert!(t.elapsed() < Duration::from_secs(10), "stop took {:?}", t.elapsed());
    let n = events.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(events.lock().unwrap().len(), n, "no event after a stop");
}
