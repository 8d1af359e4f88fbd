/**
 * `narrow.themes.keepActive`: theme uploads and installs that would replace
 * the active theme are refused. Ghost names an uploaded theme after the
 * multipart file name, unchanged in case:
 *   themes.js upload: `zip.name = frame.file.originalname` (core/server/api/endpoints/themes.js:119-124;
 *     the lower-cased copy goes to frame.options only)
 *   storage.setFromZip: `getSanitizedFileName(zip.name.split('.zip')[0])`
 *     (core/server/services/themes/storage.js:76), which replaces every
 *     character outside [A-Za-z0-9_@.] with `-` (node_modules/ghost-storage-base/build/base.js:61-65)
 *   and replaces the live theme when that name equals the `active_theme`
 *   setting (storage.js:134-140).
 * An install from GitHub is named after the repository of `ref`, lower-cased
 * (core/server/services/themes/installer.js:19-37), then the same way.
 * The gateway compares without case: on a case-insensitive file system the
 * folder `Source` is the folder `source`, whose assets the live theme serves.
 */
export function ghostThemeName(zipName: string): string {
  return zipName.split('.zip')[0]!.replace(/[^\w@.]/gi, '-');
}

/** The theme name Ghost gives POST /themes/install?source=github&ref=org/repo. */
export function installThemeName(ref: string): string {
  const repo = ref.toLowerCase().split('/')[1];
  return ghostThemeName(`${repo}.zip`);
}

export type ThemeVerdict = { ok: true } | { ok: false; why: string };

export function decideThemeName(name: string, activeTheme: string): ThemeVerdict {
  if (name.toLowerCase() === activeTheme.toLowerCase())
    return { ok: false, why: `the theme would be named "${name.slice(0, 80)}", like the active theme "${activeTheme}", and replace it` };
  return { ok: true };
}

/**
 * The `active_theme` value from Ghost's GET /settings/?group=theme: {"settings": [{"key", "value"}]}.
 * Settings browse reads Ghost's settings cache (core/server/services/settings/settings-bread-service.js:130-131),
 * the value setFromZip compares with; integration keys may read it, unlike GET /themes/active.
 */
export function activeThemeFrom(json: unknown): string | undefined {
  const list = json && typeof json === 'object' ? (json as Record<string, unknown>).settings : undefined;
  if (!Array.isArray(list)) return undefined;
  const row = list.find((s) => s && typeof s === 'object' && (s as Record<string, unknown>).key === 'active_theme') as
    Record<string, unknown> | undefined;
  return typeof row?.value === 'string' && row.value !== '' ? row.value : undefined;
}
