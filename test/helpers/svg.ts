// A strict reader for the XML that test/bench/plot.ts writes: elements, double-quoted attributes, text and the five
// predefined entities. Throws on anything else, and on a closing tag that does not match, so a test that reads a
// chart through it also checks that the chart is well-formed.
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (text: string) =>
  text.replace(/&([a-z]+);/g, (whole, name: string) => {
    const value = entities[name];
    if (value === undefined) throw new Error(`unknown entity ${whole}`);
    return value;
  });

const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
const attribute = /([\w:-]+)="([^"<]*)"/g;

export function parseXml(source: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const open: XmlElement[] = [root];
  for (const match of source.matchAll(token)) {
    const [, closing, name, attrs, selfClosing, text, stray] = match;
    const parent = open[open.length - 1] as XmlElement;
    if (stray !== undefined) {
      throw new Error(`malformed markup at offset ${match.index}`);
    }
    if (text !== undefined) {
      if (text.trim() && parent === root) throw new Error('text outside the root element');
      parent.text += decode(text);
    } else if (closing) {
      if (parent.name !== name) throw new Error(`</${name}> closes <${parent.name}>`);
      open.pop();
    } else {
      const element: XmlElement = { name: name ?? '', attributes: {}, children: [], text: '' };
      for (const [, key, value] of (attrs ?? '').matchAll(attribute)) {
        element.attributes[key ?? ''] = decode(value ?? '');
      }
      parent.children.push(element);
      if (!selfClosing) open.push(element);
    }
  }
  if (open.length !== 1) throw new Error(`<${open[open.length - 1]?.name}> is never closed`);
  const [only, ...more] = root.children;
  if (!only || more.length > 0) throw new Error('a document has exactly one root element');
  return only;
}

/** Every element below `element` (depth first, in document order) that `matches`. */
export function findAll(element: XmlElement, matches: (e: XmlElement) => boolean): XmlElement[] {
  return element.children.flatMap((child) => [
    ...(matches(child) ? [child] : []),
    ...findAll(child, matches),
  ]);
}

export const byClass = (name: string) => (e: XmlElement) =>
  (e.attributes.class ?? '').split(' ').includes(name);
