/**
 * Makes a small JPEG copy of the photo for gallery previews, so each preview uploads a few tens of KB
 * instead of the full photo. The server shrinks previews to 256 px anyway; 512 px leaves it headroom
 * for face detection. Formats the browser cannot decode (TIFF, HEIC in most browsers) fall back to
 * the original file.
 */
const PREVIEW_SOURCE_SIDE = 512;

export interface PreviewSource {
  blob: Blob;
  fileName: string;
}

export async function previewSource(file: File): Promise<PreviewSource> {
  try {
    // createImageBitmap applies EXIF orientation by default, so the copy is upright.
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, PREVIEW_SOURCE_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.type === 'image/jpeg') {
      bitmap.close();
      return { blob: file, fileName: file.name };
    }
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2d context');
    // JPEG has no alpha: put transparent photos on white rather than black.
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
    if (!blob) throw new Error('canvas encode failed');
    return { blob, fileName: 'preview.jpg' };
  } catch {
    return { blob: file, fileName: file.name };
  }
}
