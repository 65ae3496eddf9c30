import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { api, toApiError } from './api';
import { CAMERA_OFF, cameraReducer, type CameraInfo, type CameraState } from './camera';

/**
 * A camera scan for one screen: lists the cameras, starts and stops one, folds its events into
 * a `CameraState` and calls `onRead` once per card it reads. The camera is turned off when the
 * screen goes away.
 */
export function useCamera(onRead: (text: string) => void) {
  const [state, dispatch] = useReducer(cameraReducer, CAMERA_OFF);
  const [cameras, setCameras] = useState<CameraInfo[] | null>(null);
  const onReadRef = useRef(onRead);
  useEffect(() => {
    onReadRef.current = onRead;
  });
  const running = useRef(false);
  // Starting waits for the event listener, so no early event (a failed open) is missed.
  const listening = useRef<Promise<unknown>>(Promise.resolve());

  useEffect(() => {
    let alive = true;
    let unlisten: (() => void) | null = null;
    listening.current = api
      .onCamera((event) => {
        if (!alive || !running.current) return;
        dispatch({ type: 'event', event });
        if (event.type === 'scanned') onReadRef.current(event.text);
        if (event.type === 'stopped') running.current = false;
      })
      .then(
        (u) => {
          if (alive) unlisten = u;
          else u();
        },
        () => undefined,
      );
    api.listCameras().then(
      (list) => alive && setCameras(list),
      () => alive && setCameras([]),
    );
    return () => {
      alive = false;
      unlisten?.();
      if (running.current) {
        running.current = false;
        api.stopCamera().catch(() => undefined);
      }
    };
  }, []);

  const start = useCallback((id: string) => {
    running.current = true;
    dispatch({ type: 'start', cameraId: id });
    listening.current.then(() => api.startCamera(id)).catch((e: unknown) => {
      running.current = false;
      const err = toApiError(e);
      dispatch({ type: 'start_failed', code: err.code, message: err.message });
    });
  }, []);

  const stop = useCallback(() => {
    running.current = false;
    dispatch({ type: 'stop' });
    api.stopCamera().catch(() => undefined);
  }, []);

  const result: { state: CameraState; cameras: CameraInfo[] | null; start: (id: string) => void; stop: () => void } = {
    state,
    cameras,
    start,
    stop,
  };
  return result;
}
