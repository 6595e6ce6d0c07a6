import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';

/** An RGB colour, each channel 0..255. */
export type Color = readonly [number, number, number];

export const WHITE: Color = [255, 255, 255];
export const BLACK: Color = [0, 0, 0];
export const GREY: Color = [200, 200, 200];

/** An RGBA raster (row-major, 4 bytes per pixel, origin top-left). */
export class Canvas {
  readonly data: Uint8Array;
  /** When set, pixels outside this rectangle are left untouched (see `clipped`). */
  clip: { x: number; y: number; width: number; height: number } | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Color = WHITE,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new RangeError(`Canvas: expected positive integer width and height, got ${width}×${height}`);
    }
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Colours one pixel (ignored outside the canvas); `alpha` blends over what is there. */
  setPixel(x: number, y: number, color: Color, alpha = 1): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    const c = this.clip;
    if (c && (px < c.x || py < c.y || px >= c.x + c.width || py >= c.y + c.height)) return;
    const i = (py * this.width + px) * 4;
    for (let c = 0; c < 3; c++) {
      this.data[i + c] = Math.round(alpha * color[c] + (1 - alpha) * this.data[i + c]);
    }
    this.data[i + 3] = 255;
  }

  /** Runs `draw` with pixels restricted to `rect` (e.g. a panel), then restores the previous clip. */
  clipped(rect: { x: number; y: number; width: number; height: number }, draw: () => void): void {
    const previous = this.clip;
    this.clip = rect;
    try {
      draw();
    } finally {
      this.clip = previous;
    }
  }

  /** The RGB colour at a pixel. */
  getPixel(x: number, y: number): Color {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  fillRect(x: number, y: number, width: number, height: number, color: Color): void {
    for (let py = Math.max(0, Math.floor(y)); py < Math.min(this.height, Math.ceil(y + height)); py++) {
      for (let px = Math.max(0, Math.floor(x)); px < Math.min(this.width, Math.ceil(x + width)); px++) {
        this.setPixel(px, py, color);
      }
    }
  }

  /** A filled disc of the given radius (pixels); radius < 1 draws a single pixel. */
  fillCircle(cx: number, cy: number, radius: number, color: Color, alpha = 1): void {
    if (radius < 1) {
      this.setPixel(cx, cy, color, alpha);
      return;
    }
    const r = Math.ceil(radius);
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        if (dx * dx + dy * dy <= radius * radius) this.setPixel(cx + dx, cy + dy, color, alpha);
      }
    }
  }

  /** A one-pixel line (DDA). */
  drawLine(x0: number, y0: number, x1: number, y1: number, color: Color): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let s = 0; s <= steps; s++) {
      const t = s / steps;
      this.setPixel(x0 + t * (x1 - x0), y0 + t * (y1 - y0), color);
    }
  }

  /** The outline of a rectangle. */
  strokeRect(x: number, y: number, width: number, height: number, color: Color): void {
    this.drawLine(x, y, x + width, y, color);
    this.drawLine(x + width, y, x + width, y + height, color);
    this.drawLine(x + width, y + height, x, y + height, color);
    this.drawLine(x, y + height, x, y, color);
  }
}

/** Encodes a canvas as PNG bytes. */
export function encodePng(canvas: Canvas): Buffer {
  const png = new PNG({ width: canvas.width, height: canvas.height });
  png.data = Buffer.from(canvas.data.buffer, canvas.data.byteOffset, canvas.data.byteLength);
  return PNG.sync.write(png);
}

/** Decodes PNG bytes into a canvas (handy in tests and for compositing). */
export function decodePng(bytes: Uint8Array): Canvas {
  const png = PNG.sync.read(Buffer.from(bytes));
  const canvas = new Canvas(png.width, png.height);
  canvas.data.set(png.data);
  return canvas;
}

/** Writes a canvas to `path` as PNG, creating parent directories. */
export async function savePng(path: string, canvas: Canvas): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodePng(canvas));
}
