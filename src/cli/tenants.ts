import { TenantCreate, TenantUpdate } from '../accounts/schemas.js';
import { createTenant, deleteTenant, getTenant, listTenants, setTenantDisabled, updateTenant } from '../accounts/tenants.js';
import { cliOperator, flags, idArg, labelsArg, output, validate } from './args.js';
import type { Command } from './command.js';
import { lifecycleCommands, said } from './lifecycle.js';

const NOT_KEYS = 'tenants have no secret; use `tenants disable` (reversible) or `tenants delete`';

export const tenantCommands: Command[] = [
  {
    name: 'tenants create',
    usage: 'tenants create <slug> [--name <display name>] [--label k=v]... [--json]',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { name: { type: 'string' }, label: { type: 'string', multiple: true } });
      const input = validate(TenantCreate, { slug: idArg(positionals, this.usage), name: values.name, labels: labelsArg(values.label) });
      output(values.json, await createTenant(cliOperator(ctx), input), said('created tenant'));
    },
  },
  {
    name: 'tenants update',
    usage: 'tenants update <id|slug> [--name <display name>] [--label k=v]... [--json]   (labels replace the whole set)',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { name: { type: 'string' }, label: { type: 'string', multiple: true } });
      const patch = validate(TenantUpdate, { name: values.name, labels: labelsArg(values.label) });
      output(values.json, await updateTenant(cliOperator(ctx), idArg(positionals, this.usage), patch), said('updated tenant'));
    },
  },
  ...lifecycleCommands({
    group: 'tenants',
    noun: 'tenant',
    parents: [],
    columns: [['id', (t) => t.id], ['slug', (t) => t.slug], ['name', (t) => t.name], ['status', (t) => t.status], ['labels', (t) => JSON.stringify(t.labels)], ['created', (t) => t.createdAt]],
    list: listTenants,
    get: getTenant,
    remove: deleteTenant,
    actions: { disable: (op, id) => setTenantDisabled(op, id, true), enable: (op, id) => setTenantDisabled(op, id, false) },
    notApplicable: { revoke: NOT_KEYS, rotate: NOT_KEYS },
  }),
];
