import { createHash, randomBytes } from 'node:crypto';

/** Recognisable by secret scanners (GitHub push protection, trufflehog custom rules). */
export const KEY_PREFIX = 'ggw_';
const DISPLAY_LENGTH = KEY_PREFIX.length + 8;
/** 32 random bytes = 256 bits, base64url → 43 characters. */
const KEY_PATTERN = /^ggw_[A-Za-z0-9_-]{43}$/;

export interface GeneratedKey {
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

/** Short sortable-enough random ids with a type prefix, e.g. key_3kq9…; never secret. */
export function newId(type: 'ten' | 'prj' | 'key' | 'upk' | 'aud'): string {
  return `${type}_${randomBytes(12).toString('base64url')}`;
}
