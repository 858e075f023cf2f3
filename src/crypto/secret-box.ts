import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** Encrypts small secrets (upstream API keys) at rest with AES-256-GCM. */
export interface SecretBox {
  /** `aad` binds the ciphertext to its row (the id), so a ciphertext copied onto another row fails to open. */
  seal(plaintext: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

const VERSION = 'v1';
const IV_BYTES = 12;

/**
 * The AES key is derived from GATEWAY_SECRET with HKDF-SHA256, so any long random string works as
 * the master secret and the same secret could later derive other keys without reuse.
 */
export function createSecretBox(masterSecret: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', masterSecret, 'gemini-gateway', 'upstream-keys aes-256-gcm v1', 32));
  return {
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, aad) {
      const [version, iv, ct, tag] = sealed.split('.');
      if (version !== VERSION || !iv || ct === undefined || !tag) throw new Error('not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

/** What admins see instead of an upstream key: its last 4 characters and a short SHA-256. */
export function fingerprint(secret: string): { last4: string; sha256: string } {
  return { last4: secret.slice(-4), sha256: createHash('sha256').update(secret).digest('hex').slice(0, 16) };
}

/** The message an operator sees when they try to store an upstream key without a master secret. */
export const GATEWAY_SECRET_HOWTO =
  'Storing upstream keys needs GATEWAY_SECRET: set it to a random string of at least 32 characters (for example `openssl rand -base64 48`) and restart the gateway. Keep it safe: without it stored upstream keys cannot be decrypted.';
