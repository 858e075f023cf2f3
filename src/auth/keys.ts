import { createHash, randomBytes } from 'node:crypto';

/** Recognisable by secret scanners (GitHub push protection, trufflehog custom rules). */
const KEY_PREFIX = 'ggw_';
const DISPLAY_LENGTH = KEY_PREFIX.length + 8;
/** 32 random bytes = 256 bits, base64url → 43 characters. */
const KEY_PATTERN = /^ggw_[A-Za-z0-9_-]{43}$/;

interface GeneratedKey {
  secret: string;
  hash: string;
  prefix: string;
}

export function generateKey(): GeneratedKey {
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashKey(secret), prefix: displayPrefix(secret) };
}

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function displayPrefix(secret: string): string {
  return secret.slice(0, DISPLAY_LENGTH);
}

/** Cheap syntactic check; a malformed key still goes through the same lookup path (see tenant-auth). */
export function looksLikeKey(secret: string): boolean {
  return KEY_PATTERN.test(secret);
}

let lastMs = 0;
let seq = 0;

/**
 * Type-prefixed ids that sort in creation order (time, then a per-process sequence, then 64 random
 * bits), e.g. key_mhx2k1c0a000Qm3…: lists ordered by (created_at, id) stay in creation order even
 * when many rows share a millisecond. Never secret.
 */
export function newId(type: 'ten' | 'prj' | 'key' | 'upk' | 'aud'): string {
  const now = Date.now();
  seq = now === lastMs ? seq + 1 : 0;
  lastMs = now;
  return `${type}_${now.toString(36).padStart(9, '0')}${seq.toString(36).padStart(3, '0')}${randomBytes(8).toString('base64url')}`;
}
