/** A panel's position in terminal cells (outer size, borders included). */
export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

/** Where every panel goes. */
export interface Layout {
  header: Rect;
  members: Rect;
  brokers: Rect;
  channels: Rect;
  activity: Rect;
  log: Rect;
  footer: Rect;
  /** The modal box (help, member details, channel details). */
  overlay: Rect;
}

/** Smallest terminal the layout is designed for; smaller ones still render, cramped. */
export const MIN_COLS = 80;
export const MIN_ROWS = 24;

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/**
 * Computes the panels for a terminal of `cols` × `rows`:
 *
 * ```
 * header (2 rows)
 * members              | brokers
 *                      | channels
 * activity (sparklines)| event log
 * footer (1 row)
 * ```
 *
 * The members table gets about two thirds of the width and the middle band most of the
 * height, since that is what operators look at; at 80×24 every panel still has room for
 * a few rows. Pure, so resize behaviour is unit-tested.
 */
export function computeLayout(cols: number, rows: number): Layout {
  const w = Math.max(20, cols);
  const h = Math.max(10, rows);
  const header: Rect = { top: 0, left: 0, width: w, height: 2 };
  const footer: Rect = { top: h - 1, left: 0, width: w, height: 1 };
  const body = h - header.height - footer.height;
  const activityH = clamp(Math.round(body * 0.35), Math.min(7, body - 4), 14);
  const middleH = body - activityH;
  const sideW = clamp(Math.round(w * (w >= 100 ? 0.34 : 0.36)), 20, 60);
  const membersW = w - sideW;
  const brokersH = clamp(Math.floor(middleH * 0.4), Math.min(4, middleH), 12);
  const sparksW = clamp(Math.round(w * (w >= 100 ? 0.4 : 0.45)), 24, 70);
  const middleTop = header.height;
  const activityTop = middleTop + middleH;
  const overlayW = clamp(Math.round(w * 0.84), Math.min(w, 60), 130);
  const overlayH = clamp(Math.round(h * 0.84), Math.min(h, 20), 50);
  return {
    header,
    footer,
    members: { top: middleTop, left: 0, width: membersW, height: middleH },
    brokers: { top: middleTop, left: membersW, width: sideW, height: brokersH },
    channels: { top: middleTop + brokersH, left: membersW, width: sideW, height: middleH - brokersH },
    activity: { top: activityTop, left: 0, width: sparksW, height: activityH },
    log: { top: activityTop, left: sparksW, width: w - sparksW, height: activityH },
    overlay: { top: Math.floor((h - overlayH) / 2), left: Math.floor((w - overlayW) / 2), width: overlayW, height: overlayH },
  };
}

/** The inside of a bordered panel. */
export function inner(r: Rect): { width: number; height: number } {
  return { width: Math.max(0, r.width - 2), height: Math.max(0, r.height - 2) };
}
