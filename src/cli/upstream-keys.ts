import { readFileSync } from 'node:fs';
import { UpstreamKeyCreate, UpstreamKeyRotate, UpstreamKeyUpdate } from '../accounts/key-schemas.js';
import {
  createUpstreamKey, deleteUpstreamKey, getUpstreamKey, listUpstreamKeys, revokeUpstreamKey, rotateUpstreamKey, setUpstreamKeyDisabled, updateUpstreamKey,
} from '../accounts/upstream-keys.js';
import { cliOperator, flags, idArg, labelsArg, output, projectIdArg, validate } from './args.js';
import type { Command } from './command.js';
import { UsageError } from './output.js';
import { lifecycleCommands, said } from './lifecycle.js';

/**
 * The secret comes from a file or stdin (`-`), never from a flag value: flags end up in shell
 * history and in `ps` output.
 */
function readSecret(path: string | undefined): string {
  if (!path) throw new UsageError('pass the upstream key with --secret-file <path> (or - for stdin)');
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8').trim();
  } catch (err) {
    // Not the path itself: an operator who passed the key in place of a file name would see it echoed in the error.
    throw new UsageError(`cannot read the --secret-file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); give the path of a file that holds the key, or - for stdin`);
  }
}

export const upstreamKeyCommands: Command[] = [
  {
    name: 'upstream-keys create',
    usage: 'upstream-keys create (--project <prj_id> | --tenant <slug> --project <slug>) --secret-file <path|-> [--name <n>] [--label k=v]... [--no-attach] [--json]',
    async run(ctx, args) {
      const { values } = flags(args, {
        tenant: { type: 'string' }, project: { type: 'string' }, 'secret-file': { type: 'string' }, name: { type: 'string' },
        label: { type: 'string', multiple: true }, 'no-attach': { type: 'boolean' },
      });
      const projectId = await projectIdArg(ctx, values);
      if (!projectId) throw new UsageError('upstream-keys create needs --project');
      const input = validate(UpstreamKeyCreate, {
        projectId, secret: readSecret(values['secret-file']), name: values.name, labels: labelsArg(values.label), attach: !values['no-attach'],
      });
      output(values.json, await createUpstreamKey(cliOperator(ctx), input), (v) => `stored upstream key ${v.id} …${v.fingerprint.last4} for project ${v.projectId}${v.inUse ? ' (in use)' : ''}`);
    },
  },
  {
    name: 'upstream-keys update',
    usage: 'upstream-keys update <id> [--name <n>] [--label k=v]... [--json]',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { name: { type: 'string' }, label: { type: 'string', multiple: true } });
      const patch = validate(UpstreamKeyUpdate, { name: values.name, labels: labelsArg(values.label) });
      output(values.json, await updateUpstreamKey(cliOperator(ctx), idArg(positionals, this.usage), patch), said('updated upstream key'));
    },
  },
  {
    name: 'upstream-keys rotate',
    usage: 'upstream-keys rotate <id> --secret-file <path|-> [--json]   (stores the new key under a new id, revokes the old one)',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { 'secret-file': { type: 'string' } });
      const id = idArg(positionals, this.usage);
      const { secret } = validate(UpstreamKeyRotate, { secret: readSecret(values['secret-file']) });
      output(values.json, await rotateUpstreamKey(cliOperator(ctx), id, secret), (v) => `rotated upstream key ${id} → ${v.id} …${v.fingerprint.last4}`);
    },
  },
  ...lifecycleCommands({
    group: 'upstream-keys',
    noun: 'upstream key',
    parents: ['tenant', 'project'],
    columns: [
      ['id', (k) => k.id], ['project', (k) => k.projectId], ['name', (k) => k.name], ['fingerprint', (k) => `…${k.fingerprint.last4} ${k.fingerprint.sha256}`],
      ['status', (k) => k.status], ['in use', (k) => (k.inUse ? 'yes' : 'no')], ['created', (k) => k.createdAt],
    ],
    list: listUpstreamKeys,
    get: getUpstreamKey,
    remove: deleteUpstreamKey,
    actions: { disable: (op, id) => setUpstreamKeyDisabled(op, id, true), enable: (op, id) => setUpstreamKeyDisabled(op, id, false), revoke: revokeUpstreamKey },
  }),
];
