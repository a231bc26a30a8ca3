/**
 * A strict, small XML parser for the tests of the SVG plots and the HTML report: one root element, double-quoted
 * attributes without duplicates, the five entities, every element closed. `parseHtmlAsXml` also accepts the report's leading `<!DOCTYPE html>`.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITY = /&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g;

function decode(s: string, where: string): string {
  const rest = s.replace(ENTITY, "");
  if (rest.includes("&")) throw new Error(`${where}: bare '&' in ${JSON.stringify(s)}`);
  if (rest.includes("<")) throw new Error(`${where}: '<' in ${JSON.stringify(s)}`);
  return s.replace(
    ENTITY,
    (_, e: string) =>
      e === "amp"
        ? "&"
        : e === "lt"
        ? "<"
        : e === "gt"
        ? ">"
        : e === "quot"
        ? '"'
        : e === "apos"
        ? "'"
        : String.fromCodePoint(e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
}

/**
 * A strict, small XML parser for what the builder emits: an optional `<?xml …?>` declaration, one root element,
 * elements with double-quoted attributes (no duplicates), text with the five entities. Throws on anything else.
 */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`XML error at ${i}: ${what} near ${JSON.stringify(src.slice(i, i + 40))}`);
  };
  if (src.startsWith("<?xml")) {
    const end = src.indexOf("?>");
    if (end < 0) fail("unterminated declaration");
    i = end + 2;
  }
  const skipSpace = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const parseElement = (): XmlElement => {
    if (src[i] !== "<") fail("expected '<'");
    i++;
    const name = NAME.exec(src.slice(i))?.[0] ?? fail("bad element name");
    i += name.length;
    const node: XmlElement = { name, attrs: {}, children: [], text: "" };
    for (;;) {
      const before = i;
      skipSpace();
      if (src.startsWith("/>", i)) {
        i += 2;
        return node;
      }
      if (src[i] === ">") {
        i++;
        break;
      }
      if (i === before) fail("attributes must be separated by white space");
      const an = NAME.exec(src.slice(i))?.[0] ?? fail("bad attribute name");
      i += an.length;
      if (src[i] !== "=" || src[i + 1] !== '"') fail(`attribute ${an} must be ="…"`);
      const end = src.indexOf('"', i + 2);
      if (end < 0) fail("unterminated attribute");
      if (an in node.attrs) fail(`duplicate attribute ${an}`);
      node.attrs[an] = decode(src.slice(i + 2, end), `attribute ${an}`);
      i = end + 1;
    }
    for (;;) {
      const lt = src.indexOf("<", i);
      if (lt < 0) fail(`unclosed <${name}>`);
      node.text += decode(src.slice(i, lt), `text of <${name}>`);
      i = lt;
      if (src.startsWith("</", i)) {
        const close = `</${name}>`;
        if (!src.startsWith(close, i)) fail(`expected ${close}`);
        i += close.length;
        return node;
      }
      node.children.push(parseElement());
    }
  };
  skipSpace();
  const root = parseElement();
  skipSpace();
  if (i !== src.length) fail("content after the root element");
  return root;
}

export function all(
  node: XmlElement,
  pred: (e: XmlElement) => boolean,
  out: XmlElement[] = [],
): XmlElement[] {
  if (pred(node)) out.push(node);
  for (const c of node.children) all(c, pred, out);
  return out;
}

/** Elements whose `class` attribute is `cls`. */
export const byClass = (root: XmlElement, cls: string): XmlElement[] =>
  all(root, (e) => e.attrs.class === cls);
/** Elements named `name`. */
export const byName = (root: XmlElement, name: string): XmlElement[] => all(root, (e) => e.name === name);
/** A numeric attribute. */
export const attrNum = (e: XmlElement, a: string): number => Number(e.attrs[a]);
/** All text inside an element (its own and its descendants'). */
export function textOf(e: XmlElement): string {
  return e.text + e.children.map(textOf).join("");
}

/** Parses a page that starts with `<!DOCTYPE html>` as XML (the report is written to be well-formed XML). */
export function parseHtmlAsXml(html: string): XmlElement {
  const m = /^<!DOCTYPE html>\s*/i.exec(html);
  if (!m) throw new Error("no <!DOCTYPE html>");
  return parseXml(html.slice(m[0].length));
}
