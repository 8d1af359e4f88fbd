import { createServer } from 'node:http';
import { reportLoopDelayOnSignal } from './loop-delay.js';

/**
 * A minimal upstream for the ladder: answers every request with the same
 * 15-post JSON page (about the size of a Ghost browse with `fields`), kept
 * alive, except the look-up of the constraint rungs' tag by slug (the gateway
 * pins a constraint's slug to its id in Ghost: grants/anchors.ts). Prints its
 * port on stdout.
 */
const posts = Array.from({ length: 15 }, (_, i) => ({
  id: (i + 1).toString(16).padStart(24, '0'),
  title: `Post number ${i + 1}`,
  slug: `post-number-${i + 1}`,
  status: 'published',
  visibility: 'public',
  tags: [{ id: 'a'.repeat(24), slug: 'partner', name: 'Partner' }],
  authors: [{ id: 'b'.repeat(24), slug: 'olive', name: 'Olive Owner' }],
  updated_at: '2026-11-27T00:00:00.000Z',
}));
const body = Buffer.from(
  JSON.stringify({ posts, meta: { pagination: { page: 1, limit: 15, pages: 1, total: 15, next: null, prev: null } } }),
);
const tag = Buffer.from(JSON.stringify({ tags: [{ id: 'a'.repeat(24), slug: 'partner' }] }));
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const answer = req.url?.includes('/tags/slug/partner/') ? tag : body;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
// Its event-loop delay during each open loop, beside the gateway's (run.ts).
reportLoopDelayOnSignal();
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port, bytes: body.length })}\n`),
);
