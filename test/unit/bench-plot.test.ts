// SVG line charts for the benchmark (test/bench/plot.ts), read back through a strict XML reader.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Chart, renderChart, type Series, tickLabel, writeChart } from '../bench/plot';
import { byClass, findAll, parseXml, type XmlElement } from '../helpers/svg';

/** A series from its x values and its y values, pairwise. */
const line = (name: string, xs: number[], ys: number[]): Series => ({
  name,
  points: xs.map((x, i) => ({ x, y: ys[i] as number })),
});

const chart: Chart = {
  title: 'A fleet booting at once: r53dyn & the <seed> script',
  panels: [
    {
      title: 'Route 53 calls',
      xLabel: 'machines',
      yLabel: 'Route 53 calls',
      series: [
        line('r53dyn', [10, 100, 1000], [4, 8, 28]),
        // out of order: drawn sorted by x
        line('seed', [1000, 10, 100], [1450, 10, 140]),
      ],
    },
    {
      title: 'Seconds until every address resolves',
      xLabel: 'machines',
      yLabel: 'seconds',
      xScale: 'log',
      yScale: 'log',
      series: [line('r53dyn', [10, 100, 1000], [2, 10, 12]), line('seed', [10, 100, 1000], [1, 14, 140])],
    },
  ],
};

const texts = (root: XmlElement, className: string) => findAll(root, byClass(className)).map((e) => e.text);
const circles = (series: XmlElement) =>
  findAll(series, (e) => e.name === 'circle').map((c) => ({
    x: c.attributes['data-x'],
    y: c.attributes['data-y'],
    cx: c.attributes.cx,
    cy: c.attributes.cy,
  }));

describe('SVG line charts', () => {
  const svg = parseXml(renderChart(chart));
  const panels = findAll(svg, byClass('panel'));

  it('are one well-formed SVG document with a title and a panel per figure', () => {
    expect([svg.name, svg.attributes.width, svg.attributes.height, svg.attributes.viewBox]).toEqual([
      'svg',
      '720',
      '760',
      '0 0 720 760',
    ]);
    expect(texts(svg, 'chart-title')).toEqual(['A fleet booting at once: r53dyn & the <seed> script']);
    expect(panels.map((p) => [p.attributes['data-x-scale'], p.attributes['data-y-scale']])).toEqual([
      ['linear', 'linear'],
      ['log', 'log'],
    ]);
    expect(panels.map((p) => texts(p, 'panel-title'))).toEqual([
      ['Route 53 calls'],
      ['Seconds until every address resolves'],
    ]);
    expect(panels.map((p) => [texts(p, 'x-label'), texts(p, 'y-label')])).toEqual([
      [['machines'], ['Route 53 calls']],
      [['machines'], ['seconds']],
    ]);
  });

  it('draw each series with its points, in x order, and name it in the legend', () => {
    const drawn = panels.map((panel) =>
      findAll(panel, byClass('series')).map((series) => ({
        name: series.attributes['data-series'],
        points: circles(series).map(({ x, y }) => [x, y]),
      })),
    );

    expect(drawn).toEqual([
      [
        {
          name: 'r53dyn',
          points: [
            ['10', '4'],
            ['100', '8'],
            ['1000', '28'],
          ],
        },
        {
          name: 'seed',
          points: [
            ['10', '10'],
            ['100', '140'],
            ['1000', '1450'],
          ],
        },
      ],
      [
        {
          name: 'r53dyn',
          points: [
            ['10', '2'],
            ['100', '10'],
            ['1000', '12'],
          ],
        },
        {
          name: 'seed',
          points: [
            ['10', '1'],
            ['100', '14'],
            ['1000', '140'],
          ],
        },
      ],
    ]);
    expect(
      panels.map((p) => findAll(p, byClass('legend-entry')).map((e) => e.attributes['data-series'])),
    ).toEqual([
      ['r53dyn', 'seed'],
      ['r53dyn', 'seed'],
    ]);
  });

  it('place points on linear and log axes, the line through them', () => {
    const [linear, log] = panels.map((p) => findAll(p, byClass('series')));
    const seedLinear = circles(linear?.[1] as XmlElement);
    const r53dynLog = circles(log?.[0] as XmlElement);
    const seedLog = log?.[1] as XmlElement;

    // linear: x 0..1000 onto 80..696, y 0..1500 onto 344..76
    expect(seedLinear.map(({ cx, cy }) => [cx, cy])).toEqual([
      ['86.16', '342.21'],
      ['141.6', '318.99'],
      ['696', '84.93'],
    ]);
    // log: x 10..1000 onto 80..696, y 1..1000 onto 704..436 (10 is a third of the way up)
    expect(r53dynLog[1]).toMatchObject({ cx: '388', cy: '614.67' });
    expect(findAll(seedLog, (e) => e.name === 'polyline')[0]?.attributes.points).toBe(
      circles(seedLog)
        .map(({ cx, cy }) => `${cx},${cy}`)
        .join(' '),
    );
  });

  it('label ticks at 1, 2 or 5 × 10^k on a linear axis and at powers of ten on a log axis', () => {
    expect(panels.map((p) => [texts(p, 'x-tick'), texts(p, 'y-tick')])).toEqual([
      [
        ['0', '200', '400', '600', '800', '1k'],
        ['0', '500', '1k', '1.5k'],
      ],
      [
        ['10', '100', '1k'],
        ['1', '10', '100', '1k'],
      ],
    ]);
    expect([tickLabel(0.25), tickLabel(1500), tickLabel(2_000_000), tickLabel(-3000)]).toEqual([
      '0.25',
      '1.5k',
      '2M',
      '-3k',
    ]);
  });

  it('write the same bytes for the same chart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r53dyn-plot-'));
    try {
      const written = writeChart(join(dir, 'chart.svg'), chart);

      expect(readFileSync(join(dir, 'chart.svg'), 'utf8')).toBe(written);
      expect(renderChart(chart)).toBe(written);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuse a log scale over values that are not positive, and a panel without points', () => {
    const zero: Chart = {
      title: 'Zero',
      panels: [
        {
          title: 'Seconds until every address resolves',
          xLabel: 'machines',
          yLabel: 'seconds',
          yScale: 'log',
          series: [{ name: 's', points: [{ x: 1, y: 0 }] }],
        },
      ],
    };
    const empty: Chart = {
      title: 'Empty',
      panels: [{ title: 'Nothing', xLabel: 'x', yLabel: 'y', series: [] }],
    };

    expect(() => renderChart(zero)).toThrow(
      'a log scale needs positive values, and the y axis of "Seconds until every address resolves" has 0',
    );
    expect(() => renderChart(empty)).toThrow('panel "Nothing" has no points');
  });
});
