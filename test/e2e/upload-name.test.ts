import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ghostThemeName } from '../../src/grants/themes.js';
import { uploadFileName } from '../../src/pipeline/read-upload.js';
import { lab } from './lab-helper.js';

/**
 * The gateway reads an upload's file name as Ghost does: the same multipart
 * bodies through Ghost's own multer (loaded from the lab's Ghost install,
 * configured as core/server/web/api/middleware/upload.js does for themes)
 * and through src/pipeline/read-upload.ts. Wherever the gateway accepts a
 * body, Ghost reads the same `originalname`; where Ghost fails or skips the
 * file, the gateway refuses. The theme name is then checked against Ghost's
 * own ghost-storage-base sanitiser.
 */
type Multer = ((o: object) => { single(f: string): (req: object, res: object, cb: (err?: Error) => void) => void }) & {
  memoryStorage(): object;
};

const B = 'gg-Bound4ry';
function body(parts: { head: string; data?: string }[], boundary = B): Buffer {
  const chunks = parts.map((p) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\n`),
      Buffer.from(p.head, 'latin1'),
      Buffer.from(`\r\n\r\n${p.data ?? 'PK\u0003\u0004zip'}\r\n`),
    ]),
  );
  return Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]);
}
const file = (disposition: string) => ({ head: `Content-Disposition: ${disposition}\r\nContent-Type: application/zip` });

const CASES: [string, Buffer, string?][] = [
  ['plain', body([file('form-data; name="file"; filename="mytheme.zip"')])],
  [
    'with the client’s purpose field',
    body([
      file('form-data; name="file"; filename="mytheme.zip"'),
      { head: 'Content-Disposition: form-data; name="purpose"', data: 'image' },
    ]),
  ],
  ['a relative path', body([file('form-data; name="file"; filename="../x/../mytheme.zip"')])],
  ['a Windows path', body([file('form-data; name="file"; filename="C:\\\\Users\\\\me\\\\MyTheme.zip"')])],
  ['escaped quotes', body([file('form-data; name="file"; filename="my\\"theme.zip"')])],
  ['filename* UTF-8', body([file(`form-data; name="file"; filename*=UTF-8''%C3%BCber%20theme.zip`)])],
  ['filename* before filename', body([file(`form-data; name="file"; filename*=UTF-8''mytheme.zip; filename="other.zip"`)])],
  ['filename before filename*', body([file(`form-data; name="file"; filename="other.zip"; filename*=UTF-8''mytheme.zip`)])],
  ['filename* ISO-8859-1', body([file(`form-data; name="file"; filename*=ISO-8859-1''caf%E9.zip`)])],
  ['raw latin1 bytes', body([file('form-data; name="file"; filename="caf\u00e9.zip"')])],
  ['raw UTF-8 bytes', body([file(`form-data; name="file"; filename="${Buffer.from('ü.zip', 'utf8').toString('latin1')}"`)])],
  ['unquoted', body([file('form-data; name=file; filename=mytheme.zip')])],
  ['upper-case header names', body([{ head: 'CONTENT-DISPOSITION: FORM-DATA; NAME="file"; FILENAME="MyTheme.ZIP"' }])],
  ['a duplicated filename parameter', body([file('form-data; name="file"; filename="a.zip"; filename="b.zip"')])],
  ['two files in the field', body([file('form-data; name="file"; filename="a.zip"'), file('form-data; name="file"; filename="b.zip"')])],
  ['a file in another field', body([file('form-data; name="theme"; filename="a.zip"')])],
  [
    'an empty-named file, then the file',
    body([file('form-data; name="file"; filename=""'), file('form-data; name="file"; filename="b.zip"')]),
  ],
  ['no file', body([{ head: 'Content-Disposition: form-data; name="file"', data: 'x' }])],
  ['a quoted boundary', body([file('form-data; name="file"; filename="q.zip"')]), `multipart/form-data; boundary="${B}"`],
  ['a truncated body', body([file('form-data; name="file"; filename="a.zip"')]).subarray(0, 90)],
];

describe("an upload's file name, read by the gateway and by Ghost's own multer", () => {
  let multer: Multer;
  let sanitize: (name: string) => string;
  before(async () => {
    const s = await lab();
    const ghostRequire = createRequire(join(s.ghostDir, 'package.json'));
    multer = ghostRequire('multer') as Multer;
    // ghost-storage-base 3 is an ES module: import it from where Ghost resolves it.
    const { StorageBase } = (await import(ghostRequire.resolve('ghost-storage-base'))) as {
      StorageBase: new () => { getSanitizedFileName(n: string): string };
    };
    sanitize = (n) => new (class extends StorageBase {})().getSanitizedFileName(n);
  });

  /** Ghost's reading: multer.single('file') as for themes (upload.js:72-77), with memory storage instead of disk. */
  function ghostReads(raw: Buffer, type: string): Promise<{ originalname?: string; error?: string }> {
    const req = Object.assign(Readable.from([raw]), { headers: { 'content-type': type, 'content-length': String(raw.length) } });
    return new Promise((resolve) => {
      multer({ storage: multer.memoryStorage() }).single('file')(req, {}, (err?: Error) => {
        const f = (req as { file?: { originalname: string } }).file;
        resolve(err ? { error: (err as { code?: string }).code ?? err.message } : f ? { originalname: f.originalname } : {});
      });
    });
  }

  test('wherever the gateway accepts the body, Ghost reads the same file name; elsewhere Ghost fails or skips it', async () => {
    let accepted = 0;
    for (const [name, raw, type = `multipart/form-data; boundary=${B}`] of CASES) {
      const ghost = await ghostReads(raw, type);
      const ours = await uploadFileName(raw, { 'content-type': type }, 'file');
      if (ours.ok) {
        accepted++;
        assert.deepEqual(ghost, { originalname: ours.originalname }, name);
      } else {
        assert.ok(
          ghost.error !== undefined || ghost.originalname === undefined || name === 'an empty-named file, then the file',
          `${name}: Ghost read ${JSON.stringify(ghost)}`,
        );
      }
    }
    assert.ok(accepted >= 12, `${accepted} cases accepted`);
  });

  test("the theme name is derived as Ghost's storage derives it", () => {
    for (const n of [
      'mytheme.zip',
      'MyTheme.zip',
      'my theme (2).zip',
      'über theme.zip',
      'a.zip.zip',
      'x@y.z.zip',
      'café.zip',
      'Theme.ZIP',
    ]) {
      assert.equal(ghostThemeName(n), sanitize(n.split('.zip')[0]!), n);
    }
  });
});
