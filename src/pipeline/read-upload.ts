import type { IncomingHttpHeaders } from 'node:http';
import busboy from 'busboy';

/**
 * Reads the file name of a single-file upload exactly as Ghost's multer
 * hands it to Ghost as `file.originalname`: Ghost's upload middleware
 * (core/server/web/api/middleware/upload.js:71-77,114-172) runs
 * `multer.single(field)`, which parses with busboy 1.6 (pinned here to the
 * same version) with multer's defaults: `defParamCharset: 'latin1'`,
 * `preservePath` off, so the name is busboy's decoding of `filename` or
 * `filename*`, without its path (node_modules/multer/index.js:20-23,
 * lib/make-middleware.js:143-175).
 *
 * Stricter than multer where multer would skip or fail: exactly one file
 * part, in `field`, with a non-empty name; anything else is refused rather
 * than guessed at. The bytes parsed are the bytes forwarded.
 */
export type UploadName = { ok: true; originalname: string } | { ok: false; why: string };

export function uploadFileName(raw: Buffer, headers: IncomingHttpHeaders, field: string): Promise<UploadName> {
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    return Promise.resolve({ ok: false, why: 'a compressed upload cannot be checked' });
  return new Promise((resolve) => {
    const files: { field: string; filename: string | undefined }[] = [];
    // The first answer stands (a promise settles once): an error, or the files busboy read once it closes.
    const fail = (e: unknown) => {
      resolve({ ok: false, why: `the multipart body does not parse: ${(e as Error).message}` });
    };
    let bb: busboy.Busboy;
    try {
      // busboy itself reads the type, as under multer: anything but multipart/form-data with a boundary throws here.
      // Stryker disable next-line StringLiteral: busboy's decoder for '' (none) keeps a parameter's bytes as latin1 characters, as 'latin1' does
      bb = busboy({ headers: { 'content-type': headers['content-type'] }, defParamCharset: 'latin1' });
    } catch (e) {
      fail(e);
      return;
    }
    bb.on('file', (name, stream, info) => {
      files.push({ field: name, filename: info.filename });
      // CASE: a body cut inside a file part: busboy emits "Unexpected end of form" on the file's stream, not on
      // busboy's; without a listener it was an uncaught exception that took the gateway down.
      stream.on('error', fail);
      stream.resume();
    });
    bb.on('error', fail);
    bb.on('close', () => {
      const named = files.filter((f) => f.filename !== undefined && f.filename !== '');
      if (files.length !== 1 || named.length !== 1 || named[0]!.field !== field) {
        resolve({ ok: false, why: `the body must carry exactly one file, in the field "${field}", with a file name` });
        return;
      }
      resolve({ ok: true, originalname: named[0]!.filename! });
    });
    bb.end(raw);
  });
}
