import type { AuditAnchor } from '../../store/store.js';
import type { AuditStore } from '../../store/audit.js';
import { signHead } from './record.js';

/**
 * Is the audit file the one the key store anchored? The store keeps the
 * file's identity and each chain's last signed head (updated after every
 * batch); the file must hold at least that. A missing, replaced, truncated or
 * older file is a discontinuity (AUDIT_DISCONTINUITY): the gateway refuses to
 * start until an operator acknowledges it (`ghostgate audit acknowledge`),
 * which writes a signed discontinuity record.
 *
 * The file may be ahead of its anchors (a crash between the audit commit and
 * the anchor update), never behind them. Rows removed from the middle of a
 * chain are `audit verify`'s to find: it walks every row; this check is cheap
 * enough for every start.
 */
export interface Discontinuity {
  /** The chain concerned; null for the file as a whole. */
  readonly chain: string | null;
  readonly problem: string;
  /** What the anchor names: the chain's record count and last hash. */
  readonly expected?: { readonly seq: number; readonly hash: string };
  /** What the file holds of that chain (null: nothing). */
  readonly found?: { readonly seq: number; readonly hash: string } | null;
}

/** The store setting naming the audit file the store's anchors belong to. */
export const AUDIT_FILE_SETTING = 'audit.file';

export async function checkContinuity(
  key: Buffer,
  file: AuditStore,
  anchoredFileId: string | undefined,
  anchors: readonly AuditAnchor[],
): Promise<Discontinuity[]> {
  const out: Discontinuity[] = [];
  if (anchoredFileId !== undefined && anchoredFileId !== file.fileId) {
    out.push({
      chain: null,
      problem: `the audit file was replaced or recreated: it is ${file.fileId}, the key store anchors ${anchoredFileId}`,
    });
  }
  for (const a of anchors) {
    if (a.seq === 0) continue;
    const expected = { seq: a.seq, hash: a.hash };
    if (signHead(key, a.chain, a.seq, a.hash) !== a.signature) {
      out.push({
        chain: a.chain,
        problem: `the anchor of chain ${a.chain || '(first)'} in the key store does not verify (edited)`,
        expected,
      });
      continue;
    }
    const cp = await file.checkpoint(a.chain);
    const last = (await file.lastSeq(a.chain)) ?? cp?.seq;
    if (last === undefined) {
      out.push({
        chain: a.chain,
        problem: `chain ${a.chain || '(first)'} is missing from the audit file (${a.seq} records anchored)`,
        expected,
        found: null,
      });
      continue;
    }
    const lastRow = await file.row(a.chain, last);
    const found = { seq: last, hash: lastRow?.hash ?? cp?.hash ?? '' };
    if (last < a.seq) {
      out.push({
        chain: a.chain,
        problem: `chain ${a.chain || '(first)'} ends at record ${last} in the audit file but ${a.seq} are anchored (an older copy, or truncated)`,
        expected,
        found,
      });
      continue;
    }
    const row = await file.row(a.chain, a.seq);
    const anchoredHash = row?.hash ?? (cp && cp.seq === a.seq ? cp.hash : undefined);
    if (anchoredHash !== undefined && anchoredHash !== a.hash) {
      out.push({
        chain: a.chain,
        problem: `record ${a.seq} of chain ${a.chain || '(first)'} is not the anchored one (the file was replaced)`,
        expected,
        found,
      });
    } else if (anchoredHash === undefined && !(cp && cp.seq > a.seq)) {
      out.push({
        chain: a.chain,
        problem: `record ${a.seq} of chain ${a.chain || '(first)'} is missing from the audit file`,
        expected,
        found,
      });
    }
  }
  return out;
}
