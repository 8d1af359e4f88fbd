import { randomUUID } from 'node:crypto';
import type { AuditStore, SignedHead } from '../../store/audit.js';
import type { Store } from '../../store/store.js';
import { AuditLog } from './audit-log.js';
import { AUDIT_FILE_SETTING, checkContinuity, type Discontinuity } from './continuity.js';
import { signHead, verifyChain, type AuditEntry } from './record.js';

/**
 * The audit trail's admin operations, for the CLI (and tests): verify every
 * chain and the file's continuity with the key store's anchors; acknowledge a
 * discontinuity with a signed record.
 */
export interface ChainReport {
  readonly chain: string;
  readonly rows: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly problems: string[];
}

export interface Acknowledged {
  readonly chain: string;
  readonly seq: number;
  readonly at: number;
  readonly reason: string;
  readonly discontinuities: Discontinuity[];
}

export interface TrailReport {
  readonly ok: boolean;
  readonly rows: number;
  readonly chains: ChainReport[];
  /** Breaks inside chains: edited, deleted, reordered or forged records. */
  readonly problems: string[];
  /** The file against the key store's anchors (AUDIT_DISCONTINUITY). */
  readonly discontinuities: Discontinuity[];
  /** Discontinuities an operator acknowledged, each a signed record in the trail. */
  readonly acknowledged: Acknowledged[];
}

export async function verifyTrail(key: Buffer, file: AuditStore, store: Store): Promise<TrailReport> {
  const anchors = await store.auditAnchors.list();
  const anchoredFile = await store.settings.get(AUDIT_FILE_SETTING);
  const chains: ChainReport[] = [];
  const acknowledged: Acknowledged[] = [];
  for (const chain of await file.chains()) {
    // CASE: a live gateway keeps appending while this reads (`audit verify` and GET /ghostgate/v1/audit/verify on a
    // running one). The head is read first: rows read after it may only go further (a batch committed meanwhile,
    // its rows and head in one transaction), and then the row the head names must carry its hash. Read the other
    // way round, a batch committed between the two reads looked like records removed from the end.
    const head = await file.head(chain);
    const checkpoint = await file.checkpoint(chain);
    const v = await verifyChain(key, file.rows(chain), checkpoint, chain);
    const problems = [...v.problems];
    if (head) {
      if (signHead(key, chain, head.seq, head.hash) !== head.signature) problems.push('the signed head does not verify');
      else if (v.lastSeq !== null && head.seq > v.lastSeq)
        problems.push(`the signed head names record ${head.seq} but the chain ends at ${v.lastSeq} (records removed from the end)`);
      else if (v.lastSeq !== null && head.seq < v.lastSeq && (await file.row(chain, head.seq))?.hash !== head.hash)
        problems.push(`the signed head names record ${head.seq}, which the chain does not hold as signed`);
      else if (v.lastSeq === null && head.seq > (checkpoint?.seq ?? 0))
        problems.push('the chain is empty but its signed head names records');
    }
    chains.push({
      chain,
      rows: v.rows,
      firstSeq: v.firstSeq,
      lastSeq: v.lastSeq,
      problems: problems.map((p) => `chain ${chain || '(first)'}: ${p}`),
    });
  }
  for (const r of await file.query({ code: 'AUDIT_DISCONTINUITY' })) {
    if (r.kind !== 'discontinuity' || !r.detail) continue;
    const d = JSON.parse(r.detail) as { reason: string; discontinuities: Discontinuity[] };
    acknowledged.push({ chain: r.chain, seq: r.seq, at: r.at, reason: d.reason, discontinuities: d.discontinuities });
  }
  const discontinuities = await checkContinuity(key, file, anchoredFile, anchors);
  const problems = chains.flatMap((c) => c.problems);
  return {
    ok: problems.length === 0 && discontinuities.length === 0,
    rows: chains.reduce((n, c) => n + c.rows, 0),
    chains,
    problems,
    discontinuities,
    acknowledged,
  };
}

/**
 * An operator's acknowledgement of a discontinuity: a signed `discontinuity`
 * record (in a chain of its own, anchored like any other) naming what the
 * anchors expected and what the file holds, with the operator's reason; then
 * the anchors are set to what the file holds (a truncated chain's head is
 * re-signed where it now ends), so the gateway serves again and `audit verify`
 * accepts the trail, the acknowledgement included.
 */
export async function acknowledgeDiscontinuity(
  key: Buffer,
  file: AuditStore,
  store: Store,
  reason: string,
  now: number,
): Promise<Acknowledged | undefined> {
  const anchors = await store.auditAnchors.list();
  const anchoredFile = await store.settings.get(AUDIT_FILE_SETTING);
  const discontinuities = await checkContinuity(key, file, anchoredFile, anchors);
  if (discontinuities.length === 0) return undefined;
  const chain = randomUUID();
  const heads: SignedHead[] = [];
  const log = await AuditLog.open(file, key, { flushMs: 60_000, maxBatch: 1_000_000, chain }, { anchor: (h) => heads.push(h) });
  const entry: AuditEntry = {
    at: now,
    requestId: randomUUID(),
    kind: 'discontinuity',
    keyId: null,
    keyName: null,
    clientIp: null,
    method: 'ACK',
    route: 'ghostgate audit acknowledge',
    resource: null,
    action: null,
    decision: 'error',
    code: 'AUDIT_DISCONTINUITY',
    status: null,
    latencyMs: null,
    bytesIn: null,
    bytesOut: null,
    detail: JSON.stringify({ reason, fileId: file.fileId, anchoredFileId: anchoredFile ?? null, discontinuities }),
  };
  log.record(entry);
  // Closed, not just flushed: a writer left open on a file that refused the record would retry it every flushMs
  // and keep the `audit acknowledge` command's process alive.
  await log.close();
  if (heads.length === 0) throw new Error('the acknowledgement could not be written to the audit file');
  for (const h of heads) await store.auditAnchors.advance({ ...h, updatedAt: now });
  for (const d of discontinuities) {
    if (d.chain === null) continue;
    const last = await file.lastSeq(d.chain);
    const cp = await file.checkpoint(d.chain);
    if (last !== undefined) {
      const row = (await file.row(d.chain, last))!;
      const head: SignedHead = { chain: d.chain, seq: last, hash: row.hash, signature: signHead(key, d.chain, last, row.hash) };
      await file.append(d.chain, [], head);
      await store.auditAnchors.reset(d.chain, { ...head, updatedAt: now });
    } else if (cp) {
      await store.auditAnchors.reset(d.chain, {
        chain: d.chain,
        seq: cp.seq,
        hash: cp.hash,
        signature: signHead(key, d.chain, cp.seq, cp.hash),
        updatedAt: now,
      });
    } else await store.auditAnchors.reset(d.chain, undefined);
  }
  await store.settings.set(AUDIT_FILE_SETTING, file.fileId);
  return { chain, seq: 1, at: now, reason, discontinuities };
}
