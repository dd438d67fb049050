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
  /** The output's id (12 hex digits), which its invisible watermark also carries. */
  id?: string | undefined;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/**
 * The XMP packet that labels an image as made by AI: the IPTC digital source type
 * `trainedAlgorithmicMedia` (`TRAINED_ALGORITHMIC_MEDIA`), the software and version as
 * `xmp:CreatorTool`, the creation time, a `dc:description` saying what made it, and the style and
 * model ids in Portoon's own namespace. Every value is XML-escaped, so a style id or model id cannot
 * break out of its attribute. Pure string building: no validation, never throws. Portoon's Node
 * engine writes it into every image it encodes (with sharp's `withXmp`); it is exported from
 * `portoon/core` for adapters that encode images themselves.
 * @example
 * import { buildXmp } from 'portoon/core';
 *
 * const xmp = buildXmp({
 *   software: 'Portoon',
 *   version: '0.1.0',
 *   style: 'anime',
 *   models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
 *   created: new Date().toISOString(),
 * });
 * const jpeg = await sharp(pixels).withXmp(xmp).jpeg().toBuffer();
 */
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
    ` portoon:Style="${escapeXml(info.style)}"${info.id === undefined ? '' : ` portoon:OutputId="${escapeXml(info.id)}"`}>`,
    `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">AI-generated cartoon made with ${escapeXml(info.software)} (style ${escapeXml(info.style)})</rdf:li></rdf:Alt></dc:description>`,
    `<portoon:Models><rdf:Bag>${models}</rdf:Bag></portoon:Models>`,
    '</rdf:Description>',
    '</rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('\n');
}

/**
 * Reads Portoon's provenance back from an XMP packet (the text of an image's XMP metadata), e.g. to
 * check that an output is labelled as AI-generated. Fields that are absent are left out; `models` is
 * always there (empty when the packet lists none). Values come back as they are written in the
 * packet, XML escapes included (`&amp;` stays `&amp;`): it is meant for packets made by `buildXmp`,
 * not as a general XMP parser. Never throws; text that is not XMP gives `{ models: [] }`.
 * @example
 * import sharp from 'sharp';
 * import { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from 'portoon';
 *
 * const { xmp } = await sharp('photo-anime.jpg').metadata();
 * const provenance = readProvenance(xmp?.toString('utf8') ?? '');
 * provenance.digitalSourceType === TRAINED_ALGORITHMIC_MEDIA; // true for a Portoon output
 * // provenance: { models: ['animeganv3-jpface-v1', …], digitalSourceType: '…/trainedAlgorithmicMedia', style: 'anime', software: 'Portoon', version: '0.1.0' }
 */
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
  const id = attr('portoon:OutputId');
  if (id !== undefined) result.id = id;
  if (tool !== undefined) {
    const space = tool.lastIndexOf(' ');
    result.software = tool.slice(0, space);
    result.version = tool.slice(space + 1);
  }
  return result;
}

/**
 * The same label as {@link buildXmp}, as container tags for formats that carry key/value metadata
 * rather than XMP (MP4 and WebM video): `comment` and `description` say in words that the picture was
 * made by AI, `DigitalSourceType` carries the IPTC term, and the software, style and models follow.
 * ffprobe shows them among the format tags. Pure, never throws.
 */
export function provenanceTags(info: ProvenanceInfo): Record<string, string> {
  const said = `AI-generated cartoon made with ${info.software} ${info.version} (style ${info.style})`;
  return {
    comment: said,
    description: said,
    encoded_by: `${info.software} ${info.version}`,
    creation_time: info.created,
    DigitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
    PortoonStyle: info.style,
    PortoonModels: info.models.join(','),
    ...(info.id === undefined ? {} : { PortoonOutputId: info.id }),
  };
}
