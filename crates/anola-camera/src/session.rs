//! A running scan: capture thread (frames, preview) and decode thread (reads, de-duplication).

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TrySendError};
use std::sync::{Arc, Mutex};
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
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl ScanSession {
    pub fn start(camera: CameraInfo, opener: Opener, settings: SessionSettings, sink: EventSink) -> ScanSession {
        let stop = Arc::new(AtomicBool::new(false));
        let ended: Arc<Mutex<Option<CameraError>>> = Arc::default();
        // Capacity 1: the decoder gets the newest frame that arrived while it was idle.
        let (tx, rx) = sync_channel::<Frame>(1);
        let decode = {
            let (stop, ended, sink, settings) = (stop.clone(), ended.clone(), sink.clone(), settings.clone());
            std::thread::Builder::new()
                .name("camera-decode".into())
                .spawn(move || decode_loop(rx, &stop, &ended, &settings, &sink))
        };
        let capture = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("camera-capture".into())
                .spawn(move || capture_loop(camera, opener, tx, &stop, &ended, &settings, &sink))
        };
        ScanSession {
            stop,
            threads: [decode, capture].into_iter().filter_map(Result::ok).collect(),
        }
    }

    /// Whether both threads are still running.
    pub fn is_running(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && self.threads.iter().all(|t| !t.is_finished())
    }

    /// Stops and waits for the threads (at most one frame and one decode).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for ScanSession {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Reads frames until stopped or the camera ends; the end (with its reason) is reported by the
/// decode thread after it has read the last frame, so `stopped` is always the last event.
fn capture_loop(
    camera: CameraInfo,
    opener: Opener,
    tx: std::sync::mpsc::SyncSender<Frame>,
    stop: &AtomicBool,
    ended: &Mutex<Option<CameraError>>,
    settings: &SessionSettings,
    sink: &EventSink,
) {
    let span = tracing::info_span!("camera", id = %camera.id);
    let _g = span.enter();
    let mut source = match opener() {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(code = e.code(), "camera did not open");
            *ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            return;
        }
    };
    let mut started = false;
    let mut last_preview: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let frame = match source.next_frame() {
            Ok(f) => f,
            Err(e) => {
                tracing::info!(code = e.code(), "camera ended");
                *ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                return;
            }
        };
        if !started {
            started = true;
            tracing::info!(width = frame.image.width(), height = frame.image.height(), "camera started");
            sink(CameraEvent::Started {
                camera: camera.clone(),
                width: frame.image.width(),
                height: frame.image.height(),
            });
        }
        if last_preview.is_none_or(|t| t.elapsed() >= settings.preview_every) {
            last_preview = Some(Instant::now());
            if let Some(p) = preview(&frame.image, settings.preview_width) {
                sink(p);
            }
        }
        match tx.try_send(frame) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

fn stopped(e: Option<&CameraError>) -> CameraEvent {
    CameraEvent::Stopped {
        code: e.map(|e| e.code().to_owned()),
        message: e.map(|e| e.to_string()),
    }
}

fn decode_loop(rx: Receiver<Frame>, stop: &AtomicBool, ended: &Mutex<Option<CameraError>>, settings: &SessionSettings, sink: &EventSink) {
    let mut last: Option<(String, Instant)> = None;
    let mut last_read = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let frame = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(f) => f,
            Err(RecvTimeoutError::Timeout) => {
                if last_read.elapsed() >= settings.idle_stop {
                    idle_out(stop, sink);
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                // The capture thread is gone: the camera ended or failed (a user stop sets the
                // flag first and wants no event).
                if !stop.swap(true, Ordering::SeqCst) {
                    let e = ended.lock().unwrap_or_else(|p| p.into_inner()).take();
                    sink(stopped(e.as_ref()));
                }
                return;
            }
        };
        let Some(text) = read(&frame.image) else {
            if last_read.elapsed() >= settings.idle_stop {
                idle_out(stop, sink);
                return;
            }
            continue;
        };
        let now = Instant::now();
        last_read = now;
        let repeat = last
            .as_ref()
            .is_some_and(|(t, seen)| *t == text && now.duration_since(*seen) < settings.repeat_after);
        // Seeing the card again keeps it "already reported" until it has been away a while.
        last = Some((text.clone(), now));
        if !repeat {
            sink(CameraEvent::Scanned {
                text,
                decode_ms: frame.captured.elapsed().as_secs_f64() * 1000.0,
            });
        }
    }
}

fn idle_out(stop: &AtomicBool, sink: &EventSink) {
    if !stop.swap(true, Ordering::SeqCst) {
        tracing::info!("camera stopped after reading nothing for a while");
        sink(CameraEvent::Stopped {
            code: Some("camera_idle".into()),
            message: Some("the camera was turned off after five minutes without a card".into()),
        });
    }
}

/// The card text in a frame: the quick pass, and the thorough one only when the quick pass saw
/// a code it could not read (a card in view, worth the extra time).
fn read(img: &DynamicImage) -> Option<String> {
    let texts = match anola_scan::decode_with_effort(img, Effort::Quick) {
        Ok(d) => d.texts,
        Err(ScanError::Unreadable) => anola_scan::decode_with_effort(img, Effort::Thorough).ok()?.texts,
        Err(_) => return None,
    };
    pick_card_text(texts)
}

/// Of several codes in view, the one that looks like a health card (`shc:/`), else the first.
pub(crate) fn pick_card_text(texts: Vec<String>) -> Option<String> {
    let card = texts.iter().position(|t| t.starts_with("shc:/"));
    let i = card.unwrap_or(0);
    texts.into_iter().nth(i).filter(|t| !t.trim().is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_text_is_preferred_over_other_codes() {
        let texts = vec!["https://example.org".to_owned(), "shc:/5676".to_owned()];
        assert_eq!(pick_card_text(texts).as_deref(), Some("shc:/5676"));
        assert_eq!(pick_card_text(vec!["AH-1".into()]).as_deref(), Some("AH-1"));
        assert_eq!(pick_card_text(vec!["  ".into()]), None);
        assert_eq!(pick_card_text(vec![]), None);
    }
}
