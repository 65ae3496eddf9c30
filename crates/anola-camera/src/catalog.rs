//! Which cameras exist and the one running session.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

use crate::native;
use crate::recorded::RecordedFrames;
use crate::session::{EventSink, ScanSession, SessionSettings};
use crate::source::{CameraError, Opener};

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CameraKind {
    Native,
    Recorded,
}

/// A camera the UI can offer.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CameraInfo {
    /// `native:<index>` or `recorded`.
    pub id: String,
    pub name: String,
    pub kind: CameraKind,
}

/// The cameras of this machine and at most one running [`ScanSession`].
pub struct Cameras {
    recorded: Option<(PathBuf, f64)>,
    settings: SessionSettings,
    running: Mutex<Option<ScanSession>>,
}

impl Cameras {
    /// `recorded`: a directory of frames offered as the camera `recorded` (with its frame rate).
    pub fn new(recorded: Option<(PathBuf, f64)>, settings: SessionSettings) -> Self {
        Cameras {
            recorded,
            settings,
            running: Mutex::new(None),
        }
    }

    /// From the environment: `ANOLA_CAMERA_FRAMES` (a directory of PNG/JPEG frames) adds the
    /// `recorded` camera, played at `ANOLA_CAMERA_FPS` (default 15).
    pub fn from_env() -> Self {
        let recorded = std::env::var_os("ANOLA_CAMERA_FRAMES").map(|d| {
            let fps = std::env::var("ANOLA_CAMERA_FPS").ok().and_then(|s| s.parse().ok()).unwrap_or(15.0);
            (PathBuf::from(d), fps)
        });
        Cameras::new(recorded, SessionSettings::default())
    }

    /// What can be opened now (native cameras are listed afresh: one may have been plugged in).
    pub fn list(&self) -> Vec<CameraInfo> {
        let mut all = Vec::new();
        if let Some((dir, _)) = &self.recorded {
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("frames");
            all.push(CameraInfo {
                id: "recorded".into(),
                name: format!("Recorded frames ({name})"),
                kind: CameraKind::Recorded,
            });
        }
        all.extend(native::list().into_iter().map(|c| CameraInfo {
            id: format!("native:{}", c.index),
            name: c.name,
            kind: CameraKind::Native,
        }));
        all
    }

    /// Starts scanning with camera `id`, stopping any session already running. Events go to
    /// `sink`; an opening failure arrives as a `stopped` event with its code.
    pub fn start(&self, id: &str, sink: EventSink) -> Result<CameraInfo, CameraError> {
        let (info, opener) = self.opener(id)?;
        // Stop the old session outside the lock (stopping can wait for a slow driver).
        let old = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            old.stop();
        }
        let session = ScanSession::start(info.clone(), opener, self.settings.clone(), sink);
        let replaced = self.running.lock().unwrap_or_else(|p| p.into_inner()).replace(session);
        // Two starts at once: the later one wins, the other is stopped.
        if let Some(other) = replaced {
            other.stop();
        }
        Ok(info)
    }

    /// Stops the running session, if any (the camera light goes off).
    pub fn stop(&self) {
        let old = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            old.stop();
        }
    }

    pub fn is_running(&self) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|s| s.is_running())
    }

    fn opener(&self, id: &str) -> Result<(CameraInfo, Opener), CameraError> {
        if id == "recorded" {
            let Some((dir, fps)) = self.recorded.clone() else {
                return Err(CameraError::NotFound(id.into()));
            };
            let info = self
                .list()
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| CameraError::NotFound(id.into()))?;
            let opener: Opener = Box::new(move || {
                // Looping: a demo or test camera keeps "seeing" until it is stopped.
                Ok(Box::new(RecordedFrames::open(&dir, fps, true)?) as _)
            });
            return Ok((info, opener));
        }
        let index: u32 = id
            .strip_prefix("native:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| CameraError::NotFound(id.into()))?;
        let info = CameraInfo {
            id: id.into(),
            name: native::list()
                .into_iter()
                .find(|c| c.index == index)
                .map(|c| c.name)
                .unwrap_or_else(|| format!("Camera {index}")),
            kind: CameraKind::Native,
        };
        Ok((info, Box::new(move || native::open(index))))
    }
}
