import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { labReset, labUp, type LabState } from '../../src/lab/lab.js';
import { ADMIN_ROUTES_FILE, GHOST_ROUTER_FILES } from '../../src/catalog/ghost-router.js';
import { CLI, lab } from './lab-helper.js';
import { authHeader } from '../helpers/token.js';

const KEY = /^[0-9a-f]{24}:[0-9a-f]{64}$/;

describe('the lab: a real Ghost 6.65', () => {
  let s: LabState;
  before(async () => {
    s = await lab();
  });

  test('provisions the owner, an integration key and a staff token per role', () => {
    assert.equal(s.ghostVersion, '6.65.0');
    assert.match(s.integration.adminKey, KEY);
    assert.match(s.owner.staffToken, KEY);
    for (const role of ['Administrator', 'Super Editor', 'Editor', 'Author', 'Contributor'] as const) {
      assert.match(s.staff[role].staffToken, KEY, role);
      assert.equal(s.staff[role].role, role);
    }
  });

  test('seeds posts and pages by several authors in every status, tags, labelled members and a newsletter', () => {
    const posts = s.content.posts.filter((p) => p.type === 'post');
    for (const status of ['draft', 'published', 'scheduled'])
      assert.ok(
        posts.some((p) => p.status === status),
        status,
      );
    assert.ok(new Set(posts.map((p) => p.author)).size >= 4, 'new Set(posts.map((p) => p.author)).size >= 4');
    assert.ok(
      s.content.posts.some((p) => p.type === 'page'),
      "s.content.posts.some((p) => p.type === 'page')",
    );
    assert.ok(
      s.content.tags.some((t) => t.slug === 'partner'),
      "s.content.tags.some((t) => t.slug === 'partner')",
    );
    assert.ok(
      s.content.members.some((m) => m.labels.includes('vip')),
      "s.content.members.some((m) => m.labels.includes('vip'))",
    );
    assert.ok(
      s.content.newsletters.some((n) => n.name === 'Partner Weekly'),
      "s.content.newsletters.some((n) => n.name === 'Partner Weekly')",
    );
  });

  test('the site really answers with the provisioned keys', async () => {
    const res = await fetch(`${s.adminApiUrl}site/`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { site: { title: string } }).site.title, 'ghostgate lab');
  });

  test('a second `lab up` reuses the running Ghost', async () => {
    const again = await labUp(() => {});
    assert.equal(again.pid, s.pid);
    assert.equal(again.url, s.url);
  });

  test('`lab up --json` and `lab status --json` print the state', () => {
    const r = spawnSync(process.execPath, [CLI, 'lab', 'status', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.running, true);
    assert.equal(out.state.integration.adminKey, s.integration.adminKey);
  });

  describe('catalog check against the installed Ghost', () => {
    const check = (dir: string) =>
      spawnSync(process.execPath, [CLI, 'catalog', 'check', '--ghost-dir', dir, '--json'], { encoding: 'utf8' });

    /** The files the catalog check loads Ghost's router from, with the routes file edited; node_modules shared. */
    function ghostCopy(edit: (src: string) => string): string {
      const dir = mkdtempSync(join(tmpdir(), 'ghost-copy-'));
      for (const f of GHOST_ROUTER_FILES) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        cpSync(join(s.ghostDir, f), join(dir, f));
      }
      symlinkSync(join(s.ghostDir, 'node_modules'), join(dir, 'node_modules'));
      const file = join(dir, ADMIN_ROUTES_FILE);
      writeFileSync(file, edit(readFileSync(file, 'utf8')));
      return dir;
    }

    test("exits 0 on the lab's Ghost: the catalog matches all 237 routes", () => {
      const r = check(s.ghostDir);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.ok, true);
      assert.equal(out.registered, 237);
    });

    test('exits non-zero and names a route added to a copy of the routes file', () => {
      const dir = ghostCopy((src) =>
        src.replace('  // ## Posts\n', "  // ## Posts\n  router.get('/posts/brand_new', mw.authAdminApi, http(api.posts.brandNew));\n"),
      );
      const r = check(dir);
      assert.equal(r.status, 1);
      assert.deepEqual(JSON.parse(r.stdout).missing, [{ method: 'GET', path: '/posts/brand_new', controller: 'posts.brandNew' }]);
    });

    test('exits non-zero and names a route removed from a copy of the routes file', () => {
      const dir = ghostCopy((src) => {
        const line = "  router.get('/posts/export', mw.authAdminApi, http(api.posts.exportCSV));\n";
        assert.ok(src.includes(line), 'src.includes(line)');
        return src.replace(line, '');
      });
      const r = check(dir);
      assert.equal(r.status, 1);
      assert.deepEqual(JSON.parse(r.stdout).stale, [{ method: 'GET', path: '/posts/export' }]);
    });

    test('exits non-zero and names a route Ghost now registers after a route that would take its path', () => {
      const dir = ghostCopy((src) => {
        const line = "  router.get('/posts/export', mw.authAdminApi, http(api.posts.exportCSV));\n";
        const anchor = "  router.get('/posts/slug/:slug', mw.authAdminApi, http(api.posts.read));\n";
        assert.ok(src.includes(line) && src.includes(anchor), 'src.includes(line) && src.includes(anchor)');
        return src.replace(line, '').replace(anchor, anchor + line);
      });
      const r = check(dir);
      assert.equal(r.status, 1);
      assert.deepEqual(JSON.parse(r.stdout).misordered, [{ method: 'GET', path: '/posts/export' }]);
    });

    test('exits non-zero and names a route whose controller changed', () => {
      const dir = ghostCopy((src) => src.replace('http(api.members.exportCSV)', 'http(api.members.browse)'));
      const r = check(dir);
      assert.equal(r.status, 1);
      assert.deepEqual(JSON.parse(r.stdout).mismatched, [
        { method: 'GET', path: '/members/upload', scope: 'members:exportCSV', controller: 'members.browse' },
      ]);
    });
  });

  // Last: it replaces the site (new database, new keys) for the test files that follow.
  test('`lab reset` starts over from an empty database with new credentials', async () => {
    const fresh = await labReset(() => {});
    assert.notEqual(fresh.integration.adminKey, s.integration.adminKey);
    assert.notEqual(fresh.pid, s.pid);
    const old = await fetch(`${fresh.adminApiUrl}posts/`, { headers: { authorization: authHeader(s.integration.adminKey) } });
    assert.equal(old.status, 401, "the old site's integration key is unknown to the new site");
    const now = await fetch(`${fresh.adminApiUrl}posts/`, { headers: { authorization: authHeader(fresh.integration.adminKey) } });
    assert.equal(now.status, 200);
    assert.equal(fresh.content.posts.length, s.content.posts.length);
  });
});
