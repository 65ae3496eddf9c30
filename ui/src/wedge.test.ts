import { describe, expect, it } from 'vitest';
import { createWedge, isScanPrefix, scanText, type WedgeStep } from './wedge';

const CARD = 'shc:/5676290952432060346029243740446031222959532654';

/** Feeds `keys` `gap` ms apart from t=1000; returns every step. */
function type(keys: string[], gap: number, wedge = createWedge()): WedgeStep[] {
  return keys.map((k, i) => wedge.feed(k, 1000 + i * gap));
}

describe('wedge scanner detection', () => {
  it('recognises a fast shc:/ burst ending with Enter', () => {
    const steps = type([...CARD, 'Enter'], 8);
    const last = steps[steps.length - 1];
    expect(last.scan).toBe(CARD);
    expect(last.swallow).toBe(true);
    expect(last.leaked).toBe(1);
    // The first key goes through (nobody knows yet), every later one is swallowed.
    expect(steps[0].swallow).toBe(false);
    expect(steps.slice(1).every((s) => s.swallow)).toBe(true);
    expect(steps.every((s) => s.release === '')).toBe(true);
  });

  it('ignores Shift between keys (scanners shift for ":" and capitals) and lower-cases SHC:/', () => {
    const keys = ['Shift', 'S', 'Shift', 'H', 'Shift', 'C', 'Shift', ':', '/', ...'1234567890', 'Enter'];
    const steps = type(keys, 5);
    expect(steps[steps.length - 1].scan).toBe('shc:/1234567890');
  });

  it('recognises a fast fallback code', () => {
    const steps = type([...'1234-5678-9012', 'Enter'], 10);
    expect(steps[steps.length - 1].scan).toBe('1234-5678-9012');
  });

  it('does not treat slow typing as a scan, and swallows nothing', () => {
    const steps = type([...CARD, 'Enter'], 120);
    expect(steps.some((s) => s.scan)).toBe(false);
    expect(steps.some((s) => s.swallow)).toBe(false);
  });

  it('needs Enter: a fast burst that goes quiet is handed back', () => {
    const w = createWedge();
    const steps = type([...'shc:/12'], 5, w);
    expect(steps.slice(1).every((s) => s.swallow)).toBe(true);
    expect(w.flush(1000 + 6 * 5 + 10)).toBe(''); // not quiet long enough yet
    expect(w.flush(2000)).toBe('hc:/12');
    expect(w.feed('Enter', 2001).scan).toBeNull();
  });

  it('a slow key after a fast start releases the swallowed keys before itself', () => {
    const w = createWedge();
    w.feed('s', 0);
    expect(w.feed('h', 10).swallow).toBe(true);
    const slow = w.feed('o', 200);
    expect(slow.release).toBe('h');
    expect(slow.swallow).toBe(false);
  });

  it('a key that cannot be part of a scan ends the burst (typing "show" fast stays typing)', () => {
    const steps = type([...'show'], 10);
    expect(steps[1].swallow).toBe(true); // "sh" could still be "shc:/"
    expect(steps[2].release).toBe('h');
    expect(steps[2].swallow).toBe(false);
    expect(steps[3].swallow).toBe(false);
  });

  it('Enter after too short a card, or after normal typing, is a plain Enter', () => {
    expect(type([...'shc:/123', 'Enter'], 5).pop()!.scan).toBeNull();
    expect(type([...'hello', 'Enter'], 5).pop()!.scan).toBeNull();
    expect(type(['Enter'], 5).pop()!.swallow).toBe(false);
  });

  it('a slow Enter after a fast burst is not a scan', () => {
    const w = createWedge();
    type([...CARD], 5, w);
    expect(w.feed('Enter', 1000 + CARD.length * 5 + 500).scan).toBeNull();
  });

  it('named keys (Backspace, Tab) end a burst', () => {
    const w = createWedge();
    w.feed('1', 0);
    w.feed('2', 5);
    const b = w.feed('Backspace', 10);
    expect(b.release).toBe('2');
    expect(b.swallow).toBe(false);
  });

  it('a scan typed into a text field right after slow typing is found (the field text is not part of it)', () => {
    const w = createWedge();
    w.feed('a', 0);
    w.feed('b', 300);
    const steps = [...CARD, 'Enter'].map((k, i) => w.feed(k, 1000 + i * 4));
    expect(steps.pop()!.scan).toBe(CARD);
  });

  it('prefix and full-scan rules', () => {
    expect(isScanPrefix('shc')).toBe(true);
    expect(isScanPrefix('SHC:/12')).toBe(true);
    expect(isScanPrefix('shc:/12a')).toBe(false);
    expect(isScanPrefix('1234-56')).toBe(true);
    expect(isScanPrefix('12345')).toBe(false);
    expect(scanText('1234-5678-9012')).toBe('1234-5678-9012');
    expect(scanText('123456789012')).toBeNull();
    expect(scanText('shc:/123456789')).toBeNull();
    expect(scanText('SHC:/1234567890')).toBe('shc:/1234567890');
  });
});
