import type { IncomingHttpHeaders } from 'node:http';
import contentType from 'content-type';
import typeis from 'type-is';
import type { ErrorCode } from '../../errors/errors.js';
import { findKeyProblem, MAX_JSON_DEPTH } from './json-keys.js';

/**
 * Reads a request body the gateway must check, so that what it checks is
 * what Ghost will read. Ghost's Admin API parses bodies with
 * `bodyParser.json({limit: '50mb'})` then `bodyParser.urlencoded(...)`
 * (ghost/core/core/server/web/api/endpoints/admin/app.js; body-parser 1.20.6),
 * which decodes the declared charset with iconv-lite, inflates gzip and
 * deflate, strips a UTF-8 BOM, accepts only `{` or `[` first (strict), and
 * matches the type with type-is. The gateway accepts one reading only:
 * `application/json` as type-is and content-type (the libraries body-parser
 * uses, same versions) read it, charset absent or utf-8, no Content-Encoding,
 * valid UTF-8 without a BOM, a JSON object without repeated or `__proto__`
 * keys. Every other body is refused, never guessed at. The bytes checked are
 * the bytes forwarded, with a Content-Type the gateway sets (forward.ts).
 * test/e2e/body-differential.test.ts feeds the same bodies to Ghost's
 * body-parser and to this reader.
 */
export type BodyRefusal = { code: ErrorCode; context: string };
export type JsonBody = { raw: Buffer; json: unknown };

const refuse = (code: ErrorCode, context: string): BodyRefusal => ({ code, context });
// CASE: body-parser's UTF-8 decoder strips a BOM and replaces invalid sequences; the gateway accepts neither. `fatal`
// refuses an invalid sequence; `ignoreBOM` keeps a BOM in the text as U+FEFF, which the first-character check refuses.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// body-parser's strict mode: the first character after RFC 8259 whitespace (lib/types/json.js FIRST_CHAR_REGEXP).
const FIRST_CHAR = /^[ \t\n\r]*([^ \t\n\r])/;

/** Whether the request carries a body, as Node's parser framed it (type-is's hasBody reads the same headers). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const cl = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

/**
 * CASE: a request Content-Encoding is refused on every request, whether the
 * gateway reads the body or streams it. body-parser inflates gzip and deflate
 * before parsing (body-parser/lib/read.js), so a compressed body is not the
 * bytes the gateway checked; whether a body is checked depends on the key's
 * grant, and one rule for all requests keeps that from deciding what Ghost
 * decodes; and the header is not forwarded (forward/headers.ts), so a
 * compressed upload would reach multer as a corrupt file.
 */
export function contentEncodingRefusal(headers: IncomingHttpHeaders): BodyRefusal | undefined {
  const ce = headers['content-encoding'];
  if (ce === undefined || ce.trim().toLowerCase() === 'identity') return undefined;
  return refuse('BODY_ENCODING', `Content-Encoding "${ce.slice(0, 40)}" is refused: send the body uncompressed`);
}

/**
 * Upload routes take multipart/form-data with a boundary, or nothing: Ghost's upload middleware
 * (multer, ghost/core/core/server/web/api/middleware/upload.js) skips any other body and the handler
 * then reads a file that is not there (`req.files.file` on media uploads throws and takes Ghost down).
 */
export function uploadTypeRefusal(headers: IncomingHttpHeaders): BodyRefusal | undefined {
  if (!hasBody(headers)) return undefined;
  const header = headers['content-type'];
  try {
    const type = header === undefined ? undefined : contentType.parse(header);
    if (type?.type === 'multipart/form-data' && type.parameters.boundary) return undefined;
  } catch {
    /* refused below */
  }
  return refuse('BODY_INVALID', 'an upload must be multipart/form-data with a boundary');
}

/** Decides on the bytes of a body: the one JSON value Ghost's body-parser will read from them, or a refusal. */
export function decodeJsonBody(headers: IncomingHttpHeaders, raw: Buffer): { json: unknown } | BodyRefusal {
  const encoding = contentEncodingRefusal(headers);
  if (encoding) return encoding;
  const header = headers['content-type'];
  // CASE: no bytes: body-parser leaves {} for no body and answers {} for an empty JSON body.
  if (header === undefined) return raw.length === 0 ? { json: {} } : refuse('BODY_INVALID', 'the body must be application/json');
  let type: contentType.ParsedMediaType;
  try {
    type = contentType.parse(header);
  } catch {
    return refuse('BODY_INVALID', 'the Content-Type header does not parse');
  }
  // type-is decides whether body-parser's JSON parser reads the body at all (media-typer parses it again).
  if (type.type !== 'application/json' || typeis.is(header, ['application/json']) !== 'application/json') {
    return refuse('BODY_INVALID', 'the body must be application/json');
  }
  const charset = type.parameters.charset;
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8')
    return refuse('BODY_ENCODING', `charset "${charset.slice(0, 40)}" is refused: send UTF-8`);
  if (raw.length === 0) return { json: {} };
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    return refuse('BODY_INVALID', 'the body is not valid UTF-8');
  }
  if (FIRST_CHAR.exec(text)?.[1] !== '{') return refuse('BODY_INVALID', 'the body must be a JSON object');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return refuse('BODY_INVALID', 'the body is not valid JSON');
  }
  const problem = findKeyProblem(text);
  if (problem)
    return refuse(
      'BODY_INVALID',
      problem.kind === 'depth'
        ? `the body nests deeper than ${MAX_JSON_DEPTH} levels`
        : problem.kind === 'proto'
          ? 'the body has a "__proto__" key'
          : `the key "${problem.key.slice(0, 40)}" appears twice in one object`,
    );
  return { json };
}

/** Reads a body the gateway must check, up to `limit` bytes; the bytes read are the bytes forwarded. */
export async function readJsonBody(
  req: AsyncIterable<unknown> & { headers: IncomingHttpHeaders },
  limit: number,
): Promise<JsonBody | BodyRefusal> {
  if (!hasBody(req.headers)) {
    const d = decodeJsonBody(req.headers, Buffer.alloc(0));
    return 'code' in d ? d : { raw: Buffer.alloc(0), json: d.json };
  }
  const early = contentEncodingRefusal(req.headers);
  if (early) return early;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return refuse('BODY_TOO_LARGE', `over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const d = decodeJsonBody(req.headers, raw);
  return 'code' in d ? d : { raw, json: d.json };
}
