import { BLACK, type Canvas, type Color } from './canvas.js';

// A 3×5 pixel font: five rows of three bits per glyph (1 = ink), top row first.
const GLYPHS: Record<string, string> = {
  '0': '111 101 101 101 111',
  '1': '010 110 010 010 111',
  '2': '111 001 111 100 111',
  '3': '111 001 111 001 111',
  '4': '101 101 111 001 001',
  '5': '111 100 111 001 111',
  '6': '111 100 111 101 111',
  '7': '111 001 001 001 001',
  '8': '111 101 111 101 111',
  '9': '111 101 111 001 111',
  A: '010 101 111 101 101',
  B: '110 101 110 101 110',
  C: '011 100 100 100 011',
  D: '110 101 101 101 110',
  E: '111 100 110 100 111',
  F: '111 100 110 100 100',
  G: '011 100 101 101 011',
  H: '101 101 111 101 101',
  I: '111 010 010 010 111',
  J: '001 001 001 101 010',
  K: '101 101 110 101 101',
  L: '100 100 100 100 111',
  M: '101 111 111 101 101',
  N: '110 101 101 101 101',
  O: '010 101 101 101 010',
  P: '110 101 110 100 100',
  Q: '010 101 101 110 011',
  R: '110 101 110 101 101',
  S: '011 100 010 001 110',
  T: '111 010 010 010 010',
  U: '101 101 101 101 111',
  V: '101 101 101 101 010',
  W: '101 101 111 111 101',
  X: '101 101 010 101 101',
  Y: '101 101 010 010 010',
  Z: '111 001 010 100 111',
  ' ': '000 000 000 000 000',
  '.': '000 000 000 000 010',
  ',': '000 000 000 010 100',
  ':': '000 010 000 010 000',
  '-': '000 000 111 000 000',
  '+': '000 010 111 010 000',
  '=': '000 111 000 111 000',
  '/': '001 001 010 100 100',
  '(': '010 100 100 100 010',
  ')': '010 001 001 001 010',
  '%': '101 001 010 100 101',
  _: '000 000 000 000 111',
};
const UNKNOWN = '111 111 111 111 111';

export interface TextStyle {
  color?: Color;
  /** Pixels per font pixel. Default 1 (glyphs 3×5, advance 4). */
  scale?: number;
}

/** Width in pixels of `text` drawn with `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (4 * text.length - 1) * scale;
}

/**
 * Draws `text` with its top-left corner at (x, y) in a tiny 3×5 font (digits, letters — lower
 * case drawn as upper case — and `. , : - + = / ( ) % _`; other characters as a block).
 */
export function drawText(canvas: Canvas, x: number, y: number, text: string, style: TextStyle = {}): void {
  const scale = style.scale ?? 1;
  const color = style.color ?? BLACK;
  [...text.toUpperCase()].forEach((char, k) => {
    const rows = (GLYPHS[char] ?? UNKNOWN).split(' ');
    rows.forEach((bits, r) => {
      for (let c = 0; c < 3; c++) {
        if (bits[c] === '1') canvas.fillRect(x + (4 * k + c) * scale, y + r * scale, scale, scale, color);
      }
    });
  });
}
