import { useEffect, useId, useRef, useState, type DragEvent } from 'react';
import { api, toApiError } from '../api';
import { pictureProblem } from '../camera';
import { looksLikeCard, scanErrorMessage } from '../cards';
import { useCamera } from '../useCamera';
import { useScanDelivery } from './Scanner';
import { Modal } from './Modal';

/**
 * "Scan card" in the header (shortcut C): opens the card reader. A handheld scanner needs none of
 * this — it works on every screen.
 */
export function CardReaderButton() {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || (e.key !== 'c' && e.key !== 'C')) return;
      const t = e.target;
      if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
      if (t instanceof HTMLElement && t.isContentEditable) return;
      if (document.querySelector('[aria-modal="true"]')) return;
      e.preventDefault();
      setOpen(true);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <>
      <button type="button" ref={button} className="btn btn-small" data-testid="open-card-reader" onClick={() => setOpen(true)}>
        Scan card <kbd>C</kbd>
      </button>
      {open && (
        <CardReader
          onClose={() => {
            setOpen(false);
            requestAnimationFrame(() => button.current?.focus());
          }}
        />
      )}
    </>
  );
}

type PictureState = { kind: 'idle' } | { kind: 'reading'; name: string } | { kind: 'error'; message: string };

/**
 * Reads a card with the camera (live preview) or from a picture (chosen or dropped). A read card
 * goes where a handheld scan would: the patient opens, or a waiting check-in takes it.
 */
export function CardReader({ onClose }: { onClose: () => void }) {
  const titleId = useId();
  const deliver = useScanDelivery();
  const [picture, setPicture] = useState<PictureState>({ kind: 'idle' });
  const [dragging, setDragging] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const done = useRef(false);

  const [notCard, setNotCard] = useState(false);
  const close = () => {
    done.current = true;
    onClose();
  };
  // A picture still being read when the reader closes must not open a patient afterwards.
  useEffect(
    () => () => {
      done.current = true;
    },
    [],
  );
  const accept = (text: string) => {
    if (done.current) return;
    done.current = true;
    onClose();
    deliver(text);
  };
  const camera = useCamera((text) => {
    // Other codes in view (a poster, a product) are not cards: keep looking.
    if (looksLikeCard(text)) accept(text);
    else setNotCard(true);
  });
  const { state, cameras, start, stop } = camera;
  const [picked, setChosen] = useState<string | null>(null);
  const firstCamera = cameras?.[0]?.id ?? null;
  const chosen = picked ?? firstCamera;

  // Start the first camera as soon as the list is known (opening the reader means "scan now").
  useEffect(() => {
    if (firstCamera) start(firstCamera);
  }, [firstCamera, start]);

  const readPicture = (file: File) => {
    const problem = pictureProblem(file);
    if (problem) {
      setPicture({ kind: 'error', message: problem });
      return;
    }
    setPicture({ kind: 'reading', name: file.name });
    file
      .arrayBuffer()
      .then((buf) => api.readCardImage(new Uint8Array(buf)))
      .then(accept, (e: unknown) => setPicture({ kind: 'error', message: scanErrorMessage(toApiError(e)) }));
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) readPicture(file);
  };

  const live = state.kind === 'live';
  return (
    <Modal
      labelledBy={titleId}
      onClose={close}
      className={`modal modal-wide card-reader ${dragging ? 'is-dragging' : ''}`}
      data-testid="card-reader"
      data-camera-state={state.kind}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      >
      <h2 id={titleId} className="modal-title">
        Read a health card
      </h2>
      <p className="modal-text">
        Hold the card’s QR code up to the camera, or choose or drop a photo of the card. A handheld scanner works on any
        screen without opening this.
      </p>

      <div className="camera-box" aria-live="polite">
        {live && state.preview ? (
          <img className="camera-preview" data-testid="camera-preview" src={state.preview} alt="What the camera sees" />
        ) : (
          <div className="camera-placeholder" data-testid="camera-placeholder">
            {cameras === null
              ? 'Looking for cameras…'
              : cameras.length === 0
                ? 'No camera found on this computer.'
                : state.kind === 'starting'
                  ? 'Starting the camera…'
                  : state.kind === 'live'
                    ? 'Waiting for the first picture…'
                    : state.kind === 'failed'
                      ? state.message
                      : 'Camera off.'}
          </div>
        )}
      </div>
      <p className="camera-status" role="status" data-testid="camera-status">
        {live
          ? notCard
            ? 'That code is not an Anola health card — hold the card’s own QR code up to the camera.'
            : 'Looking for a card — hold it still, about a hand’s width from the camera.'
          : ''}
      </p>
      {cameras && cameras.length > 0 && (
        <div className="camera-controls">
          {cameras.length > 1 && (
            <select
              aria-label="Camera"
              value={chosen ?? ''}
              onChange={(e) => {
                setChosen(e.target.value);
                start(e.target.value);
              }}
            >
              {cameras.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          )}
          {state.kind === 'live' || state.kind === 'starting' ? (
            <button type="button" className="btn" data-testid="camera-stop" onClick={stop}>
              Turn camera off
            </button>
          ) : (
            <button type="button" className="btn" data-testid="camera-start" onClick={() => chosen && start(chosen)}>
              Turn camera on
            </button>
          )}
        </div>
      )}

      <div className="picture-row">
        <input
          ref={fileRef}
          type="file"
          accept="image/png,image/jpeg"
          className="visually-hidden"
          data-testid="card-picture-input"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) readPicture(f);
            e.target.value = '';
          }}
        />
        <button
          type="button"
          className="btn"
          data-testid="card-picture-button"
          disabled={picture.kind === 'reading'}
          onClick={() => fileRef.current?.click()}
        >
          Choose a picture…
        </button>
        <span className="picture-hint">{dragging ? 'Drop the picture to read it' : 'or drop a PNG/JPEG photo here'}</span>
      </div>
      {picture.kind === 'reading' && (
        <p role="status" className="picture-progress" data-testid="card-picture-reading">
          <span className="spinner" aria-hidden="true" /> Reading {picture.name}… a large photo takes a second or two.
        </p>
      )}
      {picture.kind === 'error' && (
        <p role="alert" className="field-error" data-testid="card-picture-error">
          {picture.message}
        </p>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn" onClick={close}>
          Close <kbd>Esc</kbd>
        </button>
      </div>
    </Modal>
  );
}
