import { describe, expect, it } from 'vitest';
import { CAMERA_OFF, cameraErrorMessage, cameraReducer, pictureProblem, type CameraEvent, type CameraState } from './camera';

const cam = { id: 'recorded', name: 'Recorded frames', kind: 'recorded' as const };
const ev = (event: CameraEvent) => ({ type: 'event' as const, event });

describe('cameraReducer', () => {
  it('goes starting → live with previews and counts reads', () => {
    let s: CameraState = cameraReducer(CAMERA_OFF, { type: 'start', cameraId: 'recorded' });
    expect(s).toEqual({ kind: 'starting', cameraId: 'recorded' });
    s = cameraReducer(s, ev({ type: 'started', camera: cam, width: 960, height: 720 }));
    expect(s).toMatchObject({ kind: 'live', preview: null, reads: 0 });
    s = cameraReducer(s, ev({ type: 'preview', data_url: 'data:image/jpeg;base64,AA', width: 480, height: 360 }));
    s = cameraReducer(s, ev({ type: 'scanned', text: 'shc:/00', decode_ms: 12 }));
    expect(s).toMatchObject({ kind: 'live', preview: 'data:image/jpeg;base64,AA', reads: 1 });
  });

  it('a stop on purpose turns it off; a failure keeps its message', () => {
    const live = cameraReducer({ kind: 'starting', cameraId: 'native:0' }, ev({ type: 'started', camera: cam, width: 1, height: 1 }));
    expect(cameraReducer(live, ev({ type: 'stopped', code: null, message: null }))).toEqual(CAMERA_OFF);
    const failed = cameraReducer(live, ev({ type: 'stopped', code: 'camera_failed', message: 'VIDIOC_DQBUF' }));
    expect(failed).toMatchObject({ kind: 'failed', code: 'camera_failed' });
    expect(failed.kind === 'failed' && failed.message).toMatch(/stopped sending pictures/);
  });

  it('ignores events that arrive after the camera was turned off here', () => {
    const off = cameraReducer({ kind: 'live', cameraId: 'x', preview: null, reads: 0 }, { type: 'stop' });
    expect(cameraReducer(off, ev({ type: 'preview', data_url: 'data:', width: 1, height: 1 }))).toEqual(CAMERA_OFF);
    expect(cameraReducer(off, ev({ type: 'started', camera: cam, width: 1, height: 1 }))).toEqual(CAMERA_OFF);
  });

  it('start failures are explained', () => {
    const s = cameraReducer(CAMERA_OFF, { type: 'start_failed', code: 'camera_unavailable', message: 'busy' });
    expect(s.kind === 'failed' && s.message).toMatch(/another program/);
    expect(cameraErrorMessage('something_new', 'raw detail')).toBe('raw detail');
  });
});

describe('pictureProblem', () => {
  it('accepts PNG and JPEG up to 40 MB and names the file otherwise', () => {
    expect(pictureProblem({ name: 'card.jpg', type: 'image/jpeg', size: 3_000_000 })).toBeNull();
    expect(pictureProblem({ name: 'card.PNG', type: '', size: 10 })).toBeNull();
    expect(pictureProblem({ name: 'notes.pdf', type: 'application/pdf', size: 10 })).toMatch(/notes\.pdf is not a PNG/);
    expect(pictureProblem({ name: 'a.png', type: 'image/png', size: 0 })).toMatch(/empty/);
    expect(pictureProblem({ name: 'a.png', type: 'image/png', size: 41 * 1024 * 1024 })).toMatch(/40 MB/);
  });
});
