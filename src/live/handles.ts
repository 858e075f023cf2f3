/** Who a session-resumption handle belongs to: the project, and the upstream key whose Google project holds the session. */
export interface HandleOwner {
  projectId: string;
  upstreamKeyId: string | null;
}

export interface ResumptionHandles {
  remember(handle: string, owner: HandleOwner): void;
  owner(handle: string): HandleOwner | undefined;
}

/**
 * Resumption handles seen in `sessionResumptionUpdate.newHandle`, so a resumed session stays with
 * its project (another project presenting the handle is refused) and on the upstream key that holds
 * it. In memory, bounded, oldest forgotten first: Google keeps a resumable session for hours, not
 * days, and a handle unknown after a restart is simply passed on as the client sent it.
 */
export function createResumptionHandles(max = 100_000): ResumptionHandles {
  const owners = new Map<string, HandleOwner>();
  return {
    remember(handle, owner) {
      owners.delete(handle);
      owners.set(handle, owner);
      if (owners.size > max) owners.delete(owners.keys().next().value!);
    },
    owner: (handle) => owners.get(handle),
  };
}
