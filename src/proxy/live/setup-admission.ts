import type { Principal } from '../../exchange/principal.js';
import type { UpstreamCredential } from '../../exchange/stage.js';
import type { UpstreamKeyPool } from '../../upstream/key-pool.js';
import { setupScopeViolation } from './admission.js';
import type { ResumptionHandles } from '../../live/handles.js';
import { CLOSE, constrainSetup, INVALID_ARGUMENT_REASON, parseSetup } from '../../live/setup.js';
import type { TokenGrant } from '../../live/tokens.js';

export type SetupVerdict =
  | { ok: false; code: number; reason: string }
  | {
      ok: true;
      /** The frame to send upstream: the client's bytes, or the setup an ephemeral token's constraints made of it. */
      frame: { data: Buffer; isBinary: boolean };
      model: string | null;
      /** The pool key that holds the session being resumed, when it differs from the one chosen. */
      resumeOn: UpstreamCredential | null;
    };

/**
 * Judges a session's first client frame before anything goes upstream: it must be a JSON `setup`
 * (else 1007, Google's code and reason); an ephemeral token's constraints are applied; its model
 * must be within the key's scopes (else 1008); a resumption handle another project was given is
 * refused (1008), and one this project was given resumes on the upstream key that holds it.
 * A setup sent as a binary frame is read too, as Google reads it.
 */
export function admitSetup(
  data: Buffer,
  isBinary: boolean,
  ctx: { principal: Principal; grant: TokenGrant | null; address: string | undefined; handles: ResumptionHandles; keyPool: UpstreamKeyPool },
): SetupVerdict {
  const parsed = parseSetup(data);
  if (!parsed.ok) return { ok: false, code: CLOSE.invalid, reason: INVALID_ARGUMENT_REASON };
  let frame = { data, isBinary };
  let setup = parsed.setup;
  const constrained = ctx.grant ? constrainSetup(setup, ctx.grant.setup, ctx.grant.fieldMask) : null;
  if (constrained) {
    setup = constrained;
    frame = { data: Buffer.from(JSON.stringify({ ...parsed.message, setup })), isBinary: false };
  }
  const model = typeof setup.model === 'string' ? setup.model.replace(/^models\//, '') : null;
  const denied = setupScopeViolation(ctx.principal, model, ctx.address);
  if (denied) return { ok: false, code: CLOSE.policy, reason: denied };
  let resumeOn: UpstreamCredential | null = null;
  const handle = (setup.sessionResumption as { handle?: unknown } | undefined)?.handle;
  if (typeof handle === 'string' && handle !== '') {
    const owner = ctx.handles.owner(handle);
    // Worded as if it did not exist: the refusal must not confirm another project's handle.
    if (owner && owner.projectId !== ctx.principal.projectId) return { ok: false, code: CLOSE.policy, reason: 'Session resumption handle not found.' };
    // A bring-your-own-key project always uses its own key; pool sessions resume on the key that holds them.
    if (owner?.upstreamKeyId && ctx.principal.upstreamKeyId === null) resumeOn = ctx.keyPool.get(owner.upstreamKeyId);
  }
  return { ok: true, frame, model, resumeOn };
}
