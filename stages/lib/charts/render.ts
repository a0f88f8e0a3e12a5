// SVG -> PNG with resvg (a Rust renderer shipped as a native npm package: no browser, no canvas).
// resvg draws text only with fonts it is given; DejaVu (Debian's fonts-dejavu-core, present on our
// machine image) is loaded by path so that the output does not depend on fontconfig's choices.
import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu', '/usr/local/share/fonts'];
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSansMono.ttf'];

export const SANS = 'DejaVu Sans';
export const MONO = 'DejaVu Sans Mono';

function fontFiles(): string[] {
  const found: string[] = [];
  for (const dir of FONT_DIRS) for (const file of FONT_FILES) if (existsSync(`${dir}/${file}`)) found.push(`${dir}/${file}`);
  return found;
}

/** Renders an SVG document to PNG bytes at `scale` times its size, on a white background. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const files = fontFiles();
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: {
      fontFiles: files,
      // Only when DejaVu is missing: fall back to whatever fonts the system has.
      loadSystemFonts: files.length === 0,
      defaultFontFamily: SANS,
      sansSerifFamily: SANS,
      monospaceFamily: MONO,
    },
  });
  return resvg.render().asPng();
}

/** Characters that must not appear raw in SVG text or attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
