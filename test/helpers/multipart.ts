/** Builds multipart/form-data request bodies (text fields first, then the photo) for HTTP tests. */
export interface FilePart {
  bytes: Uint8Array;
  filename?: string;
  type?: string;
  /** Form field name; default "image". */
  field?: string;
}

export async function multipart(
  fields: Record<string, string> | Array<[string, string]>,
  ...files: FilePart[]
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const [name, value] of Array.isArray(fields) ? fields : Object.entries(fields)) form.append(name, value);
  for (const file of files) {
    form.append(
      file.field ?? 'image',
      new Blob([file.bytes], { type: file.type ?? 'application/octet-stream' }),
      file.filename ?? 'photo.jpg',
    );
  }
  const response = new Response(form);
  const payload = Buffer.from(await response.arrayBuffer());
  return { payload, headers: { 'content-type': response.headers.get('content-type')! } };
}
