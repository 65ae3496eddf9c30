//! A directory of recorded frames played as a camera.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::source::{CameraError, Frame, FrameSource};

/// Plays the PNG/JPEG files of a directory in name order at `fps`, like a camera would
/// deliver them; with `looping` it starts again after the last one, else it ends with
/// [`CameraError::Ended`]. Files are read as they are played (a long recording is not held in
/// memory); one that cannot be read is skipped, as a camera drops a bad frame.
pub struct RecordedFrames {
    files: Vec<PathBuf>,
    next: usize,
    interval: Duration,
    due: Option<Instant>,
    looping: bool,
}

impl RecordedFrames {
    pub fn open(dir: &Path, fps: f64, looping: bool) -> Result<Self, CameraError> {
        let files = frame_files(dir)?;
        if files.is_empty() {
            return Err(CameraError::Unavailable(format!("no PNG or JPEG frames in {}", dir.display())));
        }
        // At least one frame a second: a stop waits for the frame in progress.
        let fps = if fps.is_finite() { fps.clamp(1.0, 120.0) } else { 15.0 };
        Ok(RecordedFrames {
            files,
            next: 0,
            interval: Duration::from_secs_f64(1.0 / fps),
            due: None,
            looping,
        })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The frame files of `dir`, in name order.
pub(crate) fn frame_files(dir: &Path) -> Result<Vec<PathBuf>, CameraError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CameraError::Unavailable(format!("{}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    Ok(files)
}

impl FrameSource for RecordedFrames {
    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        // A bounded number of unreadable files in a row: a directory of junk ends the source
        // instead of spinning.
        for _ in 0..self.files.len() {
            if self.next >= self.files.len() {
                if !self.looping {
                    return Err(CameraError::Ended);
                }
                self.next = 0;
            }
            let path = &self.files[self.next];
            self.next += 1;
            let Ok(image) = anola_scan::load_image(path) else {
                continue;
            };
            // Hold the frame rate: a camera does not deliver faster than it captures.
            let now = Instant::now();
            if let Some(due) = self.due {
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            self.due = Some(Instant::now() + self.interval);
            return Ok(Frame {
                image,
                captured: Instant::now(),
            });
        }
        Err(CameraError::Failed("none of the recorded frames could be read".into()))
    }
}
