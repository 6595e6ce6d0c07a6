// Renders samples of every @setgen/data generator to out/gallery/*.png.
import { resolve } from 'node:path';
import { renderGallery } from './gallery.js';

const outDir = resolve(import.meta.dirname, '..', 'out', 'gallery');
const files = await renderGallery(outDir);
for (const file of files) console.log(`wrote ${file}`);
