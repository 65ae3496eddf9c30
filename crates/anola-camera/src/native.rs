//! Desktop cameras through nokhwa (cargo feature `native`).

use crate::source::{CameraError, Frame, FrameSource};

/// A camera the platform lists: its index (for [`open`]) and its name.
pub struct NativeCamera {
    pub index: u32,
    pub name: String,
}

/// The cameras the platform lists now. A machine with no camera (or no permission to list
/// them) gets an empty list, not an error: the UI says "no camera" and offers the other inputs.
pub fn list() -> Vec<NativeCamera> {
    imp::list()
}

/// Opens camera `index` and starts its stream. Call on the thread that will read it.
pub fn open(index: u32) -> Result<Box<dyn FrameSource>, CameraError> {
    imp::open(index)
}

#[cfg(feature = "native")]
mod imp {
    use super::*;
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};
    use std::time::Instant;

    pub fn list() -> Vec<NativeCamera> {
        match nokhwa::query(ApiBackend::Auto) {
            Ok(found) => found
                .into_iter()
                .filter_map(|c| {
                    let index = c.index().as_index().ok()?;
                    Some(NativeCamera {
                        index,
                        name: c.human_name(),
                    })
                })
                .collect(),
            Err(e) => {
                tracing::info!(error = %e, "listing cameras failed");
                Vec::new()
            }
        }
    }

    struct Nokhwa {
        camera: nokhwa::Camera,
    }

    pub fn open(index: u32) -> Result<Box<dyn FrameSource>, CameraError> {
        // 1280x720 is plenty for a card held 15-30 cm away and keeps decoding near 30 ms; ask
        // for the closest the camera has, else whatever it streams fastest.
        let wanted = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(CameraFormat::new(
            Resolution::new(1280, 720),
            FrameFormat::MJPEG,
            30,
        )));
        let camera = nokhwa::Camera::new(CameraIndex::Index(index), wanted).or_else(|_| {
            nokhwa::Camera::new(
                CameraIndex::Index(index),
                RequestedFormat::new::<RgbFormat>(RequestedFormatType::AbsoluteHighestFrameRate),
            )
        });
        let mut camera = camera.map_err(|e| match e {
            nokhwa::NokhwaError::OpenDeviceError(..) => CameraError::Unavailable(e.to_string()),
            _ => CameraError::NotFound(format!("native:{index} ({e})")),
        })?;
        camera.open_stream().map_err(|e| CameraError::Unavailable(e.to_string()))?;
        Ok(Box::new(Nokhwa { camera }))
    }

    impl FrameSource for Nokhwa {
        fn next_frame(&mut self) -> Result<Frame, CameraError> {
            let buffer = self.camera.frame().map_err(|e| CameraError::Failed(e.to_string()))?;
            let captured = Instant::now();
            let rgb = buffer.decode_image::<RgbFormat>().map_err(|e| CameraError::Failed(e.to_string()))?;
            Ok(Frame {
                image: image::DynamicImage::ImageRgb8(rgb),
                captured,
            })
        }
    }

    impl Drop for Nokhwa {
        fn drop(&mut self) {
            let _ = self.camera.stop_stream();
        }
    }
}

#[cfg(not(feature = "native"))]
mod imp {
    use super::*;

    pub fn list() -> Vec<NativeCamera> {
        Vec::new()
    }

    pub fn open(_index: u32) -> Result<Box<dyn FrameSource>, CameraError> {
        Err(CameraError::Unsupported)
    }
}
