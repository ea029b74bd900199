/**
 * One-off step (`npm run icons`): renders the app icons in public/ from public/favicon.svg,
 * so the PNGs stay in step with the logo. Run it after changing the logo and commit the PNGs;
 * the build only copies them. resvg renders SVG exactly and deterministically, with no browser.
 *
 *   icon-192.png, icon-512.png         purpose "any": the logo on a transparent square
 *   icon-maskable-192/512.png          purpose "maskable": opaque, logo inside the 80% safe circle
 *   apple-touch-icon.png (180)         iOS fills transparency with black, so opaque too
 */
import { Resvg } from '@resvg/resvg-js';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PUBLIC = fileURLToPath(new URL('../public/', import.meta.url));
const BACKGROUND = '#ffffff';

// The logo's drawing, without its <svg> wrapper; its viewBox is 0 0 32 32.
const logo = readFileSync(`${PUBLIC}favicon.svg`, 'utf8').replace(/^<svg[^>]*>|<\/svg>\s*$/g, '');

/** The logo scaled so its 32-unit box covers `share` of the icon, centred. */
function icon(size, share, background) {
  const scale = (size * share) / 32;
  const offset = (size - 32 * scale) / 2;
  const fill = background ? `<rect width="${size}" height="${size}" fill="${background}"/>` : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">${fill}<g transform="translate(${offset} ${offset}) scale(${scale})">${logo}</g></svg>`;
  return new Resvg(svg, { fitTo: { mode: 'original' } }).render().asPng();
}

const ICONS = [
  ['icon-192.png', 192, 1, null],
  ['icon-512.png', 512, 1, null],
  // The logo's shapes span 26 of its 32 units: at 0.6 their corners stay inside the safe circle.
  ['icon-maskable-192.png', 192, 0.6, BACKGROUND],
  ['icon-maskable-512.png', 512, 0.6, BACKGROUND],
  ['apple-touch-icon.png', 180, 0.8, BACKGROUND],
];

for (const [name, size, share, background] of ICONS) {
  writeFileSync(`${PUBLIC}${name}`, icon(size, share, background));
}
