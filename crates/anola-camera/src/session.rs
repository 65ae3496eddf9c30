//! A running scan: capture thread (frames, preview) and decode thread (reads, de-duplication).

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anola_scan::{Effort, ScanError};
use base64::Engine;
use image::DynamicImage;
use serde::Serialize;

use crate::catalog::CameraInfo;
use crate::source::{CameraError, Frame, Opener};

/// What a session tells the UI. Serialised with a `type` tag the UI switches on.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CameraEvent {
    /// The camera is open and delivering frames of this size.
    Started { camera: CameraInfo, width: u32, height: u32 },
    /// A small JPEG of the current frame (`data:` URL ready), about ten a second.
    Preview { data_url: String, width: u32, height: u32 },
    /// A code was read. Sent once per card: the same text again only after
    /// [`SessionSettings::repeat_after`] without it.
    Scanned {
        text: String,
        /// From the frame's capture to the text being ready.
        decode_ms: f64,
    },
    /// The session ended: `code` is `None` when it was stopped on purpose.
    Stopped { code: Option<String>, message: Option<String> },
}

/// Where events go (the Tauri layer forwards them to the window; tests collect them).
pub type EventSink = Arc<dyn Fn(CameraEvent) + Send + Sync>;

/// Tunables; the defaults suit a front-desk webcam.
#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// Minimum time between previews (the UI does not need 30 a second over IPC).
    pub preview_every: Duration,
    /// Previews are shrunk to this width.
    pub preview_width: u32,
    /// The same card held in front of the camera is reported again only after this long
    /// without seeing it (a patient who scans twice on purpose waits a moment).
    pub repeat_after: Duration,
    /// Stop a session that has read nothing for this long (a camera left on all day).
    pub idle_stop: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            preview_every: Duration::from_millis(100),
            preview_width: 480,
            repeat_after: Duration::from_secs(3),
            idle_stop: Duration::from_secs(300),
        }
    }
}

/// A running camera scan. Dropping it (or [`ScanSession::stop`]) stops both threads and
/// releases the camera.
pub struct ScanSession {
    shared: Arc<Shared>,
    decode: Option<JoinHandle<()>>,
    capture: Option<JoinHandle<()>>,
}

/// What the two threads share.
struct Shared {
    /// Set by a user stop, the idle time-out or the end of the camera: both threads finish.
    stop: AtomicBool,
    /// The newest frame (each new one replaces an unread one) and how capture ended.
    slot: Mutex<Slot>,
    ready: Condvar,
    /// Events go out through here: after `stopped` (or a user stop) nothing more is sent, so
    /// `stopped` is always the last event.
    closed: Mutex<bool>,
    sink: EventSink,
}

#[derive(Default)]
struct Slot {
    frame: Option<Frame>,
    /// `Some` once the capture thread is done: with the camera's error, `None` inside when it
    /// was asked to stop.
    capture_over: Option<Option<CameraError>>,
}

impl Shared {
    fn emit(&self, e: CameraEvent) {
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        if *closed {
            return;
        }
        if matches!(e, CameraEvent::Stopped { .. }) {
            *closed = true;
        }
        (self.sink)(e);
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Ends the session with `why` (the last event), unless it is already over.
    fn finish(&self, why: CameraEvent) {
        self.stop.store(true, Ordering::SeqCst);
        self.ready.notify_all();
        self.emit(why);
    }
}

/// How long a stop waits for the capture thread (blocked in a driver call, say) before leaving
/// it to finish on its own.
const CAPTURE_STOP_WAIT: Duration = Duration::from_secs(2);

impl ScanSession {
    pub fn start(camera: CameraInfo, opener: Opener, settings: SessionSettings, sink: EventSink) -> ScanSession {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            slot: Mutex::default(),
            ready: Condvar::new(),
            closed: Mutex::new(false),
            sink,
        });
        let decode = {
            let (shared, settings) = (shared.clone(), settings.clone());
            std::thread::Builder::new()
                .name("camera-decode".into())
                .spawn(move || decode_loop(&shared, &settings))
        };
        let capture = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("camera-capture".into())
                .spawn(move || capture_loop(camera, opener, &shared, &settings))
        };
        let (decode, capture) = match (decode, capture) {
            (Ok(d), Ok(c)) => (Some(d), Some(c)),
            (d, c) => {
                shared.finish(failed(&CameraError::Failed("the camera threads could not be started".into())));
                (d.ok(), c.ok())
            }
        };
        ScanSession { shared, decode, capture }
    }

    /// Whether the session is still running.
    pub fn is_running(&self) -> bool {
        !self.shared.stopping()
            && self.decode.as_ref().is_some_and(|t| !t.is_finished())
            && self.capture.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops: no event is sent after this returns. Waits for the decode thread (at most one
    /// decode) and up to two seconds for the capture thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        *self.shared.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ready.notify_all();
        if let Some(t) = self.decode.take() {
            let _ = t.join();
        }
        if let Some(t) = self.capture.take() {
            let until = Instant::now() + CAPTURE_STOP_WAIT;
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                // Stuck in the camera driver: it ends when the driver returns and sends nothing.
                tracing::warn!("the camera did not stop within 2 s; left to finish on its own");
            }
        }
    }
}

impl Drop for ScanSession {
    fn drop(&mut self) {
        self.halt();
    }
}

fn failed(e: &CameraError) -> CameraEvent {
    CameraEvent::Stopped {
        code: Some(e.code().to_owned()),
        message: Some(e.to_string()),
    }
}

/// Runs `f`, turning a panic (a camera driver or image decoder tripping on a bad frame) into an
/// error.
fn guarded<T>(f: impl FnOnce() -> Result<T, CameraError>) -> Result<T, CameraError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(CameraError::Failed("the camera driver failed on a frame".into())))
}

/// Ends the session as `camera_failed` if its thread unwinds from a panic outside the guarded
/// driver and decoder calls (the preview encoder, an event sink).
struct PanicGuard<'a> {
    shared: &'a Shared,
    capture: bool,
}

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let e = CameraError::Failed("the camera stopped after an internal error".into());
        if self.capture {
            self.shared.slot().capture_over = Some(Some(e));
            self.shared.ready.notify_all();
        } else {
            self.shared.finish(failed(&e));
        }
    }
}

/// Reads frames until stopped or the camera ends, sends the preview, and leaves each frame in
/// the slot for the decoder (replacing one it has not taken yet).
fn capture_loop(camera: CameraInfo, opener: Opener, shared: &Shared, settings: &SessionSettings) {
    let span = tracing::info_span!("camera", id = %camera.id);
    let _g = span.enter();
    let _guard = PanicGuard { shared, capture: true };
    let over = |e: Option<CameraError>| {
        shared.slot().capture_over = Some(e);
        shared.ready.notify_all();
    };
    let mut source = match guarded(opener) {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(code = e.code(), "camera did not open");
            return over(Some(e));
        }
    };
    let mut started = false;
    let mut last_preview: Option<Instant> = None;
    while !shared.stopping() {
        let frame = match guarded(|| source.next_frame()) {
            Ok(f) => f,
            Err(e) => {
                tracing::info!(code = e.code(), "camera ended");
                return over(Some(e));
            }
        };
        if !started {
            started = true;
            tracing::info!(width = frame.image.width(), height = frame.image.height(), "camera started");
            shared.emit(CameraEvent::Started {
                camera: camera.clone(),
                width: frame.image.width(),
                height: frame.image.height(),
            });
        }
        if last_preview.is_none_or(|t| t.elapsed() >= settings.preview_every) {
            last_preview = Some(Instant::now());
            if let Some(p) = preview(&frame.image, settings.preview_width) {
                shared.emit(p);
            }
        }
        shared.slot().frame = Some(frame);
        shared.ready.notify_all();
    }
    over(None);
}

/// Reads the newest frame whenever one is waiting; reports each card once; ends the session
/// when the camera ended (after reading what it left) or nothing was read for the idle time.
fn decode_loop(shared: &Shared, settings: &SessionSettings) {
    let _guard = PanicGuard { shared, capture: false };
    let mut last: Option<(String, Instant)> = None;
    let mut last_read = Instant::now();
    loop {
        let (frame, over) = {
            let mut slot = shared.slot();
            while slot.frame.is_none() && slot.capture_over.is_none() && !shared.stopping() {
                let (s, _) = shared
                    .ready
                    .wait_timeout(slot, Duration::from_millis(100))
                    .unwrap_or_else(|p| p.into_inner());
                slot = s;
                if last_read.elapsed() >= settings.idle_stop {
                    break;
                }
            }
            (slot.frame.take(), slot.capture_over.take())
        };
        if shared.stopping() {
            return;
        }
        if let Some(frame) = frame {
            if let Some(text) = read(&frame.image) {
                let now = Instant::now();
                last_read = now;
                let repeat = last
                    .as_ref()
                    .is_some_and(|(t, seen)| *t == text && now.duration_since(*seen) < settings.repeat_after);
                // Seeing the card again keeps it "already reported" until it has been away a while.
                last = Some((text.clone(), now));
                if !repeat && !shared.stopping() {
                    shared.emit(CameraEvent::Scanned {
                        text,
                        decode_ms: frame.captured.elapsed().as_secs_f64() * 1000.0,
                    });
                }
            }
        }
        if let Some(why) = over {
            // The capture thread is gone (the frame it left was read above).
            let e = why.unwrap_or_else(|| CameraError::Failed("the camera stopped unexpectedly".into()));
            return shared.finish(failed(&e));
        }
        if last_read.elapsed() >= settings.idle_stop {
            tracing::info!("camera stopped after reading nothing for a while");
            return shared.finish(CameraEvent::Stopped {
                code: Some("camera_idle".into()),
                message: Some("the camera was turned off after five minutes without a card".into()),
            });
        }
    }
}

/// The card text in a frame: the quick pass, and the thorough one only when the quick pass saw
/// a code it could not read (a card in view, worth the extra time). Frames larger than the
/// decoder's working size are shrunk first, so a 4K webcam never takes the still-photo tiling
/// path. A decoder panic counts as nothing read.
fn read(img: &DynamicImage) -> Option<String> {
    let side = anola_scan::MAX_WORK_SIDE as u32;
    let shrunk;
    let img = if img.width().max(img.height()) > side {
        shrunk = img.resize(side, side, image::imageops::FilterType::Triangle);
        &shrunk
    } else {
        img
    };
    let texts = std::panic::catch_unwind(|| match anola_scan::decode_with_effort(img, Effort::Quick) {
        Ok(d) => Some(d.texts),
        Err(ScanError::Unreadable) => anola_scan::decode_with_effort(img, Effort::Thorough).ok().map(|d| d.texts),
        Err(_) => None,
    })
    .ok()
    .flatten()?;
    anola_scan::card_text(texts)
}

fn preview(img: &DynamicImage, width: u32) -> Option<CameraEvent> {
    let small = if img.width() > width {
        let height = ((img.height() as f64) * width as f64 / img.width() as f64).round().max(1.0) as u32;
        img.resize_exact(width, height, image::imageops::FilterType::Triangle)
    } else {
        img.clone()
    };
    let rgb = small.to_rgb8();
    let mut jpeg = Vec::with_capacity(32 * 1024);
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), 70);
    rgb.write_with_encoder(encoder).ok()?;
    Some(CameraEvent::Preview {
        data_url: format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(&jpeg)),
        width: rgb.width(),
        height: rgb.height(),
    })
}
