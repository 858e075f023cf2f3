import { randomUUID } from 'node:crypto';

/**
 * A request id: a UUIDv7 (RFC 9562), whose first 48 bits are the Unix time in milliseconds and the
 * rest random. Time-ordered ids land at the end of the usage_events request_id index; random (v4)
 * ones dirtied a different index page for nearly every row, which each COMMIT then wrote out.
 */
export function newRequestId(now: number = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: keep its variant and random tail
  const ms = now.toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15)}`;
}
