import { createProject, deleteProject, getProject, listProjects, setProjectDisabled, updateProject } from '../accounts/projects.js';
import { ProjectCreate, ProjectUpdate } from '../accounts/schemas.js';
import { cliOperator, flags, idArg, labelsArg, output, validate } from './args.js';
import type { Command } from './command.js';
import { UsageError } from './output.js';
import { lifecycleCommands, said } from './lifecycle.js';

const NOT_KEYS = 'projects have no secret; use `projects disable` (reversible) or `projects delete`';

export const projectCommands: Command[] = [
  {
    name: 'projects create',
    usage: 'projects create <slug> --tenant <id|slug> [--name <display name>] [--label k=v]... [--json]',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { tenant: { type: 'string' }, name: { type: 'string' }, label: { type: 'string', multiple: true } });
      if (!values.tenant) throw new UsageError('projects create needs --tenant');
      const input = validate(ProjectCreate, { tenantId: values.tenant, slug: idArg(positionals, this.usage), name: values.name, labels: labelsArg(values.label) });
      output(values.json, await createProject(cliOperator(ctx), input), said('created project'));
    },
  },
  {
    name: 'projects update',
    usage: 'projects update <id> [--name <n>] [--label k=v]... [--upstream-key-id <upk_id>|default] [--json]',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { name: { type: 'string' }, label: { type: 'string', multiple: true }, 'upstream-key-id': { type: 'string' } });
      const upk = values['upstream-key-id'];
      const patch = validate(ProjectUpdate, { name: values.name, labels: labelsArg(values.label), upstreamKeyId: upk === 'default' ? null : upk });
      output(values.json, await updateProject(cliOperator(ctx), idArg(positionals, this.usage), patch), said('updated project'));
    },
  },
  ...lifecycleCommands({
    group: 'projects',
    noun: 'project',
    parents: ['tenant'],
    columns: [
      ['id', (p) => p.id], ['tenant', (p) => p.tenantId], ['slug', (p) => p.slug], ['name', (p) => p.name], ['status', (p) => p.status],
      ['upstream key', (p) => p.upstreamKeyId ?? 'default'], ['labels', (p) => JSON.stringify(p.labels)],
    ],
    list: listProjects,
    get: getProject,
    remove: deleteProject,
    actions: { disable: (op, id) => setProjectDisabled(op, id, true), enable: (op, id) => setProjectDisabled(op, id, false) },
    notApplicable: { revoke: NOT_KEYS, rotate: NOT_KEYS },
  }),
];
