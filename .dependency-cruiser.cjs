// The layers imports may point down through (docs: ARCHITECTURE.md "Layers and seams"). Run by
// test/architecture/dependencies.test.ts inside `npm test`; by hand: `npx depcruise src`.
//
//   composition  main.ts workers.ts gateway.ts stages.ts app.ts
//   surfaces     proxy/ admin/ self-service/ dashboard/ cli/ metrics/app.ts health.ts
//   deps         deps.ts: AppDeps/AppEnv, types only (so no stage or service can reach for AppDeps)
//   stages       */stage.ts and */*-stage.ts: the ProxyStage hooks, ordered in stages.ts
//   services     accounts/ audit/ auth/ exchange/ ledger/ live/ metering/ metrics/ ownership/ quota/ replicas/ scopes/ telemetry/ upstream/ usage/ crypto/
//   state        db/ (client, pagination, data_version), shared/ (the Redis connection, the change feed)
//   schema       db/schema/ (SQLite) and db/schema-pg/ (its Postgres twin): nothing outside the two
//   leaves       errors.ts clock.ts calendar.ts config.ts logger.ts redact.ts values.ts public-path.ts lifecycle.ts request-id.ts strict-query.ts heap-settings.ts
const SURFACE_DIRS = 'proxy|admin|self-service|dashboard|cli';
// Stage files live beside the service they drive (quota/stage.ts); exchange/stage.ts is the contract, a service.
const STAGE_FILE = '^src/(?!exchange/)[a-z-]+/[a-z-]*stage[.]ts$';

/** Each layer may import only the layers after it. Every file under src/ is in exactly one (the test checks). */
const LAYERS = [
  { name: 'composition', path: '^src/(main|gateway|stages|app|workers)[.]ts$' },
  { name: 'surfaces', path: `^src/(${SURFACE_DIRS})/|^src/metrics/app[.]ts$|^src/health[.]ts$` },
  // Types only: what the composition root hands to each surface (each takes a Pick<> of it).
  { name: 'deps', path: '^src/deps[.]ts$' },
  { name: 'stages', path: STAGE_FILE },
  { name: 'services', path: '^src/(accounts|audit|auth|exchange|ledger|live|metering|metrics|ownership|quota|replicas|scopes|telemetry|upstream|usage|crypto)/', pathNot: `^src/metrics/app[.]ts$|${STAGE_FILE}` },
  { name: 'state', path: '^src/(db|shared)/', pathNot: '^src/db/schema(-pg)?/' },
  { name: 'schema', path: '^src/db/schema(-pg)?/' },
  { name: 'leaves', path: '^src/(errors|clock|calendar|config|logger|redact|values|public-path|lifecycle|request-id|strict-query|heap-settings)[.]ts$' },
];

const upward = [];
LAYERS.forEach((from, i) => {
  LAYERS.slice(0, i).forEach((to) => {
    upward.push({
      name: `${from.name}-not-to-${to.name}`,
      comment: `Imports point down: ${from.name} never imports ${to.name}.`,
      severity: 'error',
      from: { path: from.path, pathNot: from.pathNot },
      to: { path: to.path, pathNot: to.pathNot },
    });
  });
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Module cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'surfaces-independent',
      comment: 'A surface never imports another surface; what they share lives below them.',
      severity: 'error',
      from: { path: `^src/(${SURFACE_DIRS})/` },
      to: { path: `^src/(${SURFACE_DIRS})/`, pathNot: '^src/$1/' },
    },
    {
      name: 'schema-self-contained',
      comment: 'db/schema and db/schema-pg import nothing of ours outside the two.',
      severity: 'error',
      from: { path: '^src/db/schema(-pg)?/' },
      to: { path: '^src/', pathNot: '^src/db/schema(-pg)?/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
