//! The frame-source trait and its error type.

use std::time::Instant;

use image::DynamicImage;

/// Why a camera could not be opened or stopped giving frames. Each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// No camera with that id (unplugged since it was listed, or never there).
    #[error("no camera called {0}")]
    NotFound(String),
    /// The camera exists but could not be opened (in use by another program, no permission).
    #[error("the camera could not be opened: {0}")]
    Unavailable(String),
    /// The camera stopped giving frames (unplugged while running, driver error).
    #[error("the camera stopped: {0}")]
    Failed(String),
    /// A recorded source played its last frame.
    #[error("the recording ended")]
    Ended,
    /// This build has no desktop camera support.
    #[error("this build of the app has no camera support")]
    Unsupported,
}

/// Serialised like the app's other errors: `{ "code": …, "message": … }`.
impl serde::Serialize for CameraError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("CameraError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

impl CameraError {
    pub fn code(&self) -> &'static str {
        match self {
            CameraError::NotFound(_) => "camera_not_found",
            CameraError::Unavailable(_) => "camera_unavailable",
            CameraError::Failed(_) => "camera_failed",
            CameraError::Ended => "camera_ended",
            CameraError::Unsupported => "camera_unsupported",
        }
    }
}

/// One captured frame.
pub struct Frame {
    pub image: DynamicImage,
    /// When it was captured (for the decode latency reported with a scan).
    pub captured: Instant,
}

/// A camera: blocks until the next frame is ready. Implementations are created on the capture
/// thread (see [`Opener`]), so they need not be `Send` (some platform camera handles are not).
pub trait FrameSource {
    fn next_frame(&mut self) -> Result<Frame, CameraError>;
}

/// Opens a source on the capture thread.
pub type Opener = Box<dyn FnOnce() -> Result<Box<dyn FrameSource>, CameraError> + Send>;
