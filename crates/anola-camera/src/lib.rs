//! Camera scanning for the clinic app, with no UI dependency.
//!
//! * [`FrameSource`] is the one thing a camera must do: hand over the next frame. Desktop
//!   cameras implement it with nokhwa ([`native`], cargo feature `native`); [`RecordedFrames`]
//!   plays a directory of images at a fixed rate, which is how the camera path is tested here
//!   (no camera on the build machines) and how a demo can run without one. Mobile will not
//!   implement it at all: Tauri's barcode-scanner plugin hands over decoded text, which enters
//!   the same place a scan from here does (the UI's scan router).
//! * [`Cameras`] lists what can be opened (`native:N`, `recorded`) and runs at most one
//!   [`ScanSession`] at a time.
//! * A [`ScanSession`] owns two threads: the capture thread reads frames and sends a small
//!   JPEG preview about ten times a second; the decode thread reads the newest frame with
//!   [`anola_scan::Effort::Quick`] (a frame that held a code it could not read gets the
//!   thorough pass) and reports each card once ([`CameraEvent::Scanned`]), not once per frame.
//!   Frames that arrive while a decode runs are dropped, never queued: the preview stays live
//!   and a read is never of a stale frame.
//!
//! Scanned text is never logged (it identifies a patient).

mod catalog;
pub mod native;
mod recorded;
mod session;
mod source;

pub use catalog::{CameraInfo, CameraKind, Cameras};
pub use recorded::RecordedFrames;
pub use session::{CameraEvent, EventSink, ScanSession, SessionSettings};
pub use source::{CameraError, Frame, FrameSource, Opener};
