import Database from 'better-sqlite3';

/**
 * A SQLite file opened, or an error that names it: better-sqlite3 says only "unable to open database file"
 * (a missing or read-only folder), which does not tell the operator which file (review finding).
 */
export function openDatabase(path: string, what: string): Database.Database {
  try {
    return new Database(path);
  } catch (e) {
    throw new Error(`${what} ${path} cannot be opened: ${(e as Error).message}`, { cause: e });
  }
}
