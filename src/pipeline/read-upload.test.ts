import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uploadFileName } from './read-upload.js';

const B = 'XyZboundary';
const TYPE = `multipart/form-data; boundary=${B}`;
/** A multipart body from raw part headers (latin1 bytes), each with a small payload. */
function multipart(parts: { disposition: string; type?: string }[], boundary = B): Buffer {
  const chunks = parts.map((p) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: ${p.disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\nPK-zip-bytes\r\n`,
      'latin1',
    ),
  );
  return Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`, 'latin1')]);
}

test('the file name is read as multer gives it to Ghost', async () => {
  const table: [string, string, string][] = [
    ['plain', 'form-data; name="file"; filename="mytheme.zip"', 'mytheme.zip'],
    ['a path is dropped (preservePath off)', 'form-data; name="file"; filename="../../themes/mytheme.zip"', 'mytheme.zip'],
    ['a Windows path is dropped', 'form-data; name="file"; filename="C:\\\\tmp\\\\mytheme.zip"', 'mytheme.zip'],
    [
      'filename* (RFC 5987) wins over filename',
      `form-data; name="file"; filename="other.zip"; filename*=UTF-8''mytheme.zip`,
      'mytheme.zip',
    ],
    ['latin1 bytes are decoded as latin1 (multer defParamCharset)', 'form-data; name="file"; filename="caf\u00e9.zip"', 'caf\u00e9.zip'],
    ['an unquoted file name', 'form-data; name=file; filename=mytheme.zip', 'mytheme.zip'],
  ];
  for (const [name, disposition, want] of table) {
    const r = await uploadFileName(multipart([{ disposition, type: 'application/zip' }]), { 'content-type': TYPE }, 'file');
    assert.deepEqual(r, { ok: true, originalname: want }, name);
  }
});

test('anything but exactly one named file in the expected field is refused', async () => {
  const file = { disposition: 'form-data; name="file"; filename="a.zip"', type: 'application/zip' };
  const table: [string, Buffer, string][] = [
    ['two files in the field', multipart([file, file]), TYPE],
    ['a file in another field', multipart([{ disposition: 'form-data; name="theme"; filename="a.zip"' }]), TYPE],
    ['a file in the field and another elsewhere', multipart([file, { disposition: 'form-data; name="x"; filename="b.zip"' }]), TYPE],
    ['no file, only a field', multipart([{ disposition: 'form-data; name="file"' }]), TYPE],
    [
      'a named file and a nameless one (an octet-stream part)',
      multipart([file, { disposition: 'form-data; name="x"', type: 'application/octet-stream' }]),
      TYPE,
    ],
    ['an empty file name', multipart([{ disposition: 'form-data; name="file"; filename=""' }]), TYPE],
    // busboy reads these as files (a filename is given) whose base name is '' (busboy lib/utils.js basename).
    ['a file name that is a folder', multipart([{ disposition: 'form-data; name="file"; filename="themes/"' }]), TYPE],
    ['a file name that is ..', multipart([{ disposition: 'form-data; name="file"; filename="a/.."' }]), TYPE],
    ['a truncated body', multipart([file]).subarray(0, 60), TYPE],
    ['no boundary', multipart([file]), 'multipart/form-data'],
    ['not multipart', multipart([file]), 'application/json'],
    ['another boundary than the body’s', multipart([file]), 'multipart/form-data; boundary=other'],
  ];
  for (const [name, body, type] of table) {
    const r = await uploadFileName(body, { 'content-type': type }, 'file');
    assert.equal(r.ok, false, name);
  }
  const gz = await uploadFileName(multipart([file]), { 'content-type': TYPE, 'content-encoding': 'gzip' }, 'file');
  assert.equal(gz.ok, false, 'a compressed upload');
});

test('the multipart type is read with spaces where busboy allows them, and an identity Content-Encoding is no encoding', async () => {
  const body = multipart([{ disposition: 'form-data; name="file"; filename="a.zip"', type: 'application/zip' }]);
  for (const [what, headers] of [
    ['space before the parameters', { 'content-type': `multipart/form-data ; boundary=${B}` }],
    ['capitals', { 'content-type': `Multipart/Form-Data; boundary=${B}` }],
    ['identity', { 'content-type': TYPE, 'content-encoding': ' Identity ' }],
  ] as const)
    assert.deepEqual(await uploadFileName(body, headers, 'file'), { ok: true, originalname: 'a.zip' }, what);
  for (const [what, headers] of [
    ['no type', {}],
    ['a type without parameters', { 'content-type': 'multipart/form-data' }],
    ['a type that only ends in multipart/form-data', { 'content-type': `x-multipart/form-data; boundary=${B}` }],
  ] as const)
    assert.equal((await uploadFileName(body, headers, 'file')).ok, false, what);
});

test('a body cut inside the file part is refused, not thrown (it took the gateway down)', async () => {
  const whole = multipart([{ disposition: 'form-data; name="file"; filename="a.zip"', type: 'application/zip' }]);
  for (const cut of [whole.length - 12, whole.length - 4]) {
    const r = await uploadFileName(whole.subarray(0, cut), { 'content-type': TYPE }, 'file');
    assert.equal(r.ok, false, `cut at ${cut} of ${whole.length}`);
  }
});

test('a file part without a file name (busboy reads an octet-stream part as a file) is refused', async () => {
  const r = await uploadFileName(
    multipart([{ disposition: 'form-data; name="file"', type: 'application/octet-stream' }]),
    { 'content-type': TYPE },
    'file',
  );
  assert.equal(r.ok, false);
});
