/** Names the downloaded result after the photo and the style: "photo.jpg" + anime → "photo-anime.png". */
const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };

export function resultFileName(original: string, style: string, mimeType: string): string {
  const stem =
    original
      .replace(/\.[^.]*$/, '')
      .replace(/[^\p{L}\p{N}_-]+/gu, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'portrait';
  return `${stem}-${style}.${EXTENSIONS[mimeType] ?? 'png'}`;
}

export function setDownload(link: HTMLAnchorElement, url: string, fileName: string): void {
  link.href = url;
  link.download = fileName;
  link.setAttribute('aria-label', `Download ${fileName}`);
}
