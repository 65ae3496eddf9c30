// Camera scanning state, kept pure so it can be tested without a camera: the backend sends
// `camera` events (started, preview, scanned, stopped); the reader dialog and the kiosk fold them
// into a `CameraState` with `cameraReducer`.

export interface CameraInfo {
  /** `native:<index>` or `recorded` (a directory of frames, for tests and demos). */
  id: string;
  name: string;
  kind: 'native' | 'recorded';
}

export type CameraEvent =
  | { type: 'started'; camera: CameraInfo; width: number; height: number }
  | { type: 'preview'; data_url: string; width: number; height: number }
  | { type: 'scanned'; text: string; decode_ms: number }
  | { type: 'stopped'; code: string | null; message: string | null };

export type CameraState =
  | { kind: 'off' }
  | { kind: 'starting'; cameraId: string }
  | { kind: 'live'; cameraId: string; preview: string | null; reads: number }
  | { kind: 'failed'; code: string; message: string };

export const CAMERA_OFF: CameraState = { kind: 'off' };

/** What the user asked for, or what the backend reported. */
export type CameraAction =
  | { type: 'start'; cameraId: string }
  | { type: 'stop' }
  | { type: 'start_failed'; code: string; message: string }
  | { type: 'event'; event: CameraEvent };

export function cameraReducer(state: CameraState, action: CameraAction): CameraState {
  switch (action.type) {
    case 'start':
      return { kind: 'starting', cameraId: action.cameraId };
    case 'stop':
      return CAMERA_OFF;
    case 'start_failed':
      return { kind: 'failed', code: action.code, message: cameraErrorMessage(action.code, action.message) };
    case 'event': {
      const e = action.event;
      // Events of a session already stopped here (a late preview) change nothing.
      if (state.kind === 'off' || state.kind === 'failed') return state;
      switch (e.type) {
        case 'started':
          return { kind: 'live', cameraId: e.camera.id, preview: null, reads: 0 };
        case 'preview':
          return state.kind === 'live' ? { ...state, preview: e.data_url } : { kind: 'live', cameraId: state.cameraId, preview: e.data_url, reads: 0 };
        case 'scanned':
          return state.kind === 'live' ? { ...state, reads: state.reads + 1 } : state;
        case 'stopped':
          return e.code ? { kind: 'failed', code: e.code, message: cameraErrorMessage(e.code, e.message ?? '') } : CAMERA_OFF;
      }
    }
  }
  return state;
}

/** A camera problem in words for front-desk staff. */
export function cameraErrorMessage(code: string, detail: string): string {
  switch (code) {
    case 'camera_not_found':
      return 'That camera is no longer connected. Plug it in, or choose another one.';
    case 'camera_unavailable':
      return 'The camera could not be opened — another program may be using it.';
    case 'camera_failed':
      return 'The camera stopped sending pictures. Check its cable, then start it again.';
    case 'camera_ended':
      return 'The recorded camera reached its last frame.';
    case 'camera_idle':
      return 'The camera was turned off after five minutes without a card. Start it again when needed.';
    case 'camera_unsupported':
      return 'This build of the app has no camera support. Use a handheld scanner or a picture of the card.';
    case 'locked':
    case 'signed_out':
      return 'Sign in to use the camera.';
    default:
      return detail || 'The camera could not be used.';
  }
}

/** Picture files accepted for reading a card (what the decoder reads). */
export const PICTURE_TYPES = ['image/png', 'image/jpeg'];
/** Larger files are refused before they are sent (the backend refuses them too). */
export const MAX_PICTURE_BYTES = 40 * 1024 * 1024;

/** Why a picked file is refused before reading, or null when it can be sent. */
export function pictureProblem(file: { type: string; size: number; name: string }): string | null {
  const byName = /\.(png|jpe?g)$/i.test(file.name);
  if (!PICTURE_TYPES.includes(file.type) && !byName) return `${file.name} is not a PNG or JPEG picture.`;
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_PICTURE_BYTES) return `${file.name} is larger than 40 MB.`;
  return null;
}
