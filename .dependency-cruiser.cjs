/**
 * Architecture rules: src/core is the platform-neutral engine (it runs in Node and in the browser),
 * so it may not import Node built-ins, native image/inference libraries or the adapters; and no
 * module may take part in an import cycle. The engine and the job queues know nothing of the HTTP
 * layer or the CLI.
 */
module.exports = {
  forbidden: [
    {
      name: 'core-is-platform-neutral',
      severity: 'error',
      comment: 'src/core must not import node:* built-ins, sharp, onnxruntime or the platform adapters',
      from: { path: '^src/core/' },
      to: {
        pathNot: '^src/core/|^node_modules/zod/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'core-no-node-builtins',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'engine-knows-no-service',
      severity: 'error',
      comment: 'The engine (src/core, src/node) and the job queues must not depend on the HTTP layer or the CLI',
      from: { path: '^src/(core|node|queue)/' },
      to: { path: '^src/(server|cli)/' },
    },
    {
      name: 'queue-knows-no-http',
      severity: 'error',
      comment: 'Job queues are used by the service and by workers; they must not depend on fastify',
      from: { path: '^src/queue/' },
      to: { path: 'node_modules/(fastify|@fastify)/' },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
