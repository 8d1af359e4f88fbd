import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeThemeFrom, decideThemeName, ghostThemeName, installThemeName } from './themes.js';

test('an uploaded theme is named as Ghost names it: up to the first ".zip", unsafe characters as "-", case kept', () => {
  const table: [string, string][] = [
    ['mytheme.zip', 'mytheme'],
    ['MyTheme.zip', 'MyTheme'],
    ['my theme (2).zip', 'my-theme--2-'],
    ['theme.zip.zip', 'theme'],
    ['theme.zipper.zip', 'theme'],
    ['Theme.ZIP', 'Theme.ZIP'],
    ['ünï.zip', '-n-'],
    ['a@b.c.zip', 'a@b.c'],
  ];
  for (const [file, name] of table) assert.equal(ghostThemeName(file), name, file);
});

test('a GitHub install is named after the lower-cased repository', () => {
  assert.equal(installThemeName('TryGhost/Source'), 'source');
  assert.equal(installThemeName('org/my.zip.theme'), 'my');
  assert.equal(installThemeName('org'), 'undefined');
  assert.equal(installThemeName('org/repo/extra'), 'repo');
});

test('a theme named like the active one is refused, whatever the letter case', () => {
  assert.equal(decideThemeName('mytheme', 'mytheme').ok, false);
  assert.equal(decideThemeName('MyTheme', 'mytheme').ok, false);
  assert.equal(decideThemeName('mytheme-2', 'mytheme').ok, true);
});

test("the active theme is read from Ghost's settings answer, strictly", () => {
  assert.equal(activeThemeFrom({ settings: [{ key: 'active_theme', value: 'source' }] }), 'source');
  assert.equal(activeThemeFrom({ settings: [{ key: 'title', value: 'x' }] }), undefined);
  assert.equal(activeThemeFrom({ settings: [{ key: 'active_theme', value: '' }] }), undefined);
  assert.equal(activeThemeFrom({ errors: [] }), undefined);
  assert.equal(activeThemeFrom(null), undefined);
});
