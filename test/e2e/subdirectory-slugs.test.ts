import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { subdirectorySlugs } from '../../src/grants/relations.js';
import { Forwarder } from '../../src/pipeline/forward/forward.js';
import { lab } from './lab-helper.js';

/**
 * The tag slug a Ghost under a sub-directory rewrites, as the gateway derives it from its upstream URL and as
 * Ghost's own code does from the same URL: config-url-helpers' getSubdir() (Ghost's config.getSubdir) into
 * url-utils' getProtectedSlugs() (core/shared/url-utils.js), both loaded from the lab's Ghost install.
 */
type UrlUtilsClass = new (o: { getSubdir: () => string; slugs: string[] | null }) => { getProtectedSlugs(): string[] };
let ghostProtected: (url: string) => string[];

before(async () => {
  const s = await lab();
  const ghostRequire = createRequire(join(s.ghostDir, 'package.json'));
  const UrlUtils =
    (ghostRequire('@tryghost/url-utils') as { default?: UrlUtilsClass } & UrlUtilsClass).default ?? ghostRequire('@tryghost/url-utils');
  const { bindAll } = ghostRequire('@tryghost/config-url-helpers') as { bindAll: (nconf: object) => void };
  ghostProtected = (url) => {
    // Ghost's config binds its URL helpers onto nconf the same way (core/shared/config/loader.js).
    const nconf = { get: () => url } as { get(k: string): string; getSubdir?: () => string };
    bindAll(nconf);
    return new UrlUtils({ getSubdir: () => nconf.getSubdir!(), slugs: null }).getProtectedSlugs();
  };
});

test('the slug a sub-directory protects is the one Ghost’s own code protects, for the same URL', async () => {
  for (const url of [
    'http://ghost.local/',
    'http://ghost.local',
    'http://ghost.local/blog',
    'http://ghost.local/news/blog/',
    'http://ghost.local/a-b_c/',
  ]) {
    const f = new Forwarder(url, 1000, 1);
    try {
      assert.deepEqual(subdirectorySlugs(f.basePath), ghostProtected(url), url);
    } finally {
      await f.close();
    }
  }
  assert.deepEqual(ghostProtected('http://ghost.local/news/blog/'), ['blog'], 'Ghost protects the last segment');
});
