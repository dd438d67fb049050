/**
 * Machine-readable "this image was made by AI" labelling: an XMP packet with the IPTC digital source
 * type for trained-algorithmic media, the software and version, the style and the models used.
 */
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

export interface ProvenanceInfo {
  software: string;
  version: string;
  style: string;
  models: readonly string[];
  /** ISO timestamp of creation. */
  created: string;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function buildXmp(info: ProvenanceInfo): string {
  const models = info.models.map((m) => `<rdf:li>${escapeXml(m)}</rdf:li>`).join('');
  return [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '<rdf:Description rdf:about=""',
    ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"',
    ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ' xmlns:portoon="https://portoon.dev/ns/1.0/"',
    ` Iptc4xmpExt:DigitalSourceType="${TRAINED_ALGORITHMIC_MEDIA}"`,
    ` xmp:CreatorTool="${escapeXml(`${info.software} ${info.version}`)}"`,
    ` xmp:CreateDate="${escapeXml(info.created)}"`,
    ` portoon:Style="${escapeXml(info.style)}">`,
    `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">AI-generated cartoon made with ${escapeXml(info.software)} (style ${escapeXml(info.style)})</rdf:li></rdf:Alt></dc:description>`,
    `<portoon:Models><rdf:Bag>${models}</rdf:Bag></portoon:Models>`,
    '</rdf:Description>',
    '</rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('\n');
}

/** Reads the fields back from an XMP packet (used by tests and `portoon` tooling). */
export function readProvenance(xmp: string): Partial<ProvenanceInfo> & { digitalSourceType?: string } {
  const attr = (name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(xmp)?.[1];
  const models = [...(/<portoon:Models>([\s\S]*?)<\/portoon:Models>/.exec(xmp)?.[1] ?? '').matchAll(/<rdf:li>([^<]*)<\/rdf:li>/g)].map(
    (m) => m[1]!,
  );
  const tool = attr('xmp:CreatorTool');
  const result: Partial<ProvenanceInfo> & { digitalSourceType?: string } = { models };
  const dst = attr('Iptc4xmpExt:DigitalSourceType');
  if (dst !== undefined) result.digitalSourceType = dst;
  const style = attr('portoon:Style');
  if (style !== undefined) result.style = style;
  if (tool !== undefined) {
    const space = tool.lastIndexOf(' ');
    result.software = tool.slice(0, space);
    result.version = tool.slice(space + 1);
  }
  return result;
}
