// The model's layer diagram, like Keras' plot_model(show_shapes=True): one box per layer with its name
// and class, its input and output shapes, and arrows in data-flow order.
import type * as tfTypes from '@tensorflow/tfjs';
import { MONO, escapeXml, svgToPng } from './render.ts';

export interface DiagramLayer {
  readonly name: string;
  readonly type: string;
  readonly input: string;
  readonly output: string;
}

/** Keras' shape notation: (None, 1, 1). */
export function kerasShape(shape: readonly (number | null)[]): string {
  return `(${shape.map((d) => (d === null ? 'None' : String(d))).join(', ')})`;
}

function shapeText(shape: tfTypes.Shape | tfTypes.Shape[]): string {
  const list = Array.isArray(shape[0]) || shape.length === 0 ? (shape as tfTypes.Shape[]) : [shape as tfTypes.Shape];
  const parts = list.map((s) => kerasShape(s));
  return parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
}

/** The layers of a Sequential model, starting with its InputLayer as Keras draws it. */
export function diagramLayers(model: tfTypes.LayersModel): DiagramLayer[] {
  const first = model.layers[0];
  if (!first) throw new Error('the model has no layers');
  const inputShape = model.inputs[0]!.shape;
  const layers: DiagramLayer[] = [
    { name: `${first.name}_input`, type: 'InputLayer', input: kerasShape(inputShape), output: kerasShape(inputShape) },
  ];
  for (const layer of model.layers) {
    const node = layer.inboundNodes[0];
    if (!node) throw new Error(`layer ${layer.name} is not connected`);
    layers.push({ name: layer.name, type: layer.getClassName(), input: shapeText(node.inputShapes), output: shapeText(layer.outputShape) });
  }
  return layers;
}

const FONT_SIZE = 13;
const CHAR_W = FONT_SIZE * 0.602; // DejaVu Sans Mono advance width
const ROW_H = 22;
const BOX_H = ROW_H * 2;
const GAP = 34;
const PAD = 10;
const MARGIN = 20;

export function diagramSvg(layers: readonly DiagramLayer[]): string {
  const nameCol = Math.max(...layers.map((l) => Math.max(l.name.length, l.type.length))) * CHAR_W + 2 * PAD;
  const labelCol = 'output:'.length * CHAR_W + 2 * PAD;
  const shapeCol = Math.max(...layers.map((l) => Math.max(l.input.length, l.output.length))) * CHAR_W + 2 * PAD;
  const boxW = nameCol + labelCol + shapeCol;
  const width = Math.ceil(boxW + 2 * MARGIN);
  const height = Math.ceil(layers.length * BOX_H + (layers.length - 1) * GAP + 2 * MARGIN);
  const parts: string[] = [];
  const text = (x: number, y: number, value: string, anchor = 'start') =>
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}">${escapeXml(value)}</text>`;
  layers.forEach((layer, i) => {
    const x = MARGIN;
    const y = MARGIN + i * (BOX_H + GAP);
    const mid = y + ROW_H;
    parts.push(
      `<g class="layer">`,
      `<rect x="${x}" y="${y}" width="${boxW.toFixed(1)}" height="${BOX_H}" fill="#ffffff" stroke="#000000"/>`,
      `<line x1="${(x + nameCol).toFixed(1)}" y1="${y}" x2="${(x + nameCol).toFixed(1)}" y2="${y + BOX_H}" stroke="#000000"/>`,
      `<line x1="${(x + nameCol + labelCol).toFixed(1)}" y1="${y}" x2="${(x + nameCol + labelCol).toFixed(1)}" y2="${y + BOX_H}" stroke="#000000"/>`,
      `<line x1="${(x + nameCol).toFixed(1)}" y1="${mid}" x2="${(x + boxW).toFixed(1)}" y2="${mid}" stroke="#000000"/>`,
      text(x + nameCol / 2, y + ROW_H - 6, layer.name, 'middle'),
      text(x + nameCol / 2, mid + ROW_H - 6, layer.type, 'middle'),
      text(x + nameCol + PAD, y + ROW_H - 6, 'input:'),
      text(x + nameCol + PAD, mid + ROW_H - 6, 'output:'),
      text(x + nameCol + labelCol + PAD, y + ROW_H - 6, layer.input),
      text(x + nameCol + labelCol + PAD, mid + ROW_H - 6, layer.output),
      `</g>`,
    );
    if (i < layers.length - 1) {
      const cx = (x + nameCol / 2).toFixed(1);
      const y1 = y + BOX_H;
      const y2 = y1 + GAP;
      parts.push(
        `<line x1="${cx}" y1="${y1}" x2="${cx}" y2="${y2 - 8}" stroke="#000000"/>`,
        `<polygon points="${cx},${y2} ${(Number(cx) - 5).toFixed(1)},${y2 - 9} ${(Number(cx) + 5).toFixed(1)},${y2 - 9}" fill="#000000"/>`,
      );
    }
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<g font-family="${MONO}" font-size="${FONT_SIZE}" fill="#000000">`,
    ...parts,
    `</g>`,
    `</svg>`,
    '',
  ].join('\n');
}

export function modelDiagram(model: tfTypes.LayersModel): { svg: string; png: Uint8Array } {
  const svg = diagramSvg(diagramLayers(model));
  return { svg, png: svgToPng(svg) };
}
