/**
 * Architecture rules: src/core is the platform-neutral engine (it runs in Node and in the browser),
 * so it may not import Node built-ins, native image/inference libraries or the adapters; and no
 * module may take part in an import cycle. The engine and the job queues know nothing of the HTTP
 * layer or the CLI. The job queues and the service reach the engine through its port
 * (src/core/engine-port.ts), never through the Node adapter's internals.
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
      name: 'browser-adapter-uses-core-only',
      severity: 'error',
      comment:
        'src/browser is the browser adapter (portoon/web): it runs the core with onnxruntime-web and the canvas; it must not import Node adapters, the service or Node built-ins',
      from: { path: '^src/browser/' },
      to: {
        pathNot: '^src/(browser|core)/|^node_modules/(onnxruntime-web|onnxruntime-common|zod)/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'browser-no-node-builtins',
      severity: 'error',
      from: { path: '^src/browser/' },
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
      name: 'queue-uses-the-engine-port',
      severity: 'error',
      comment:
        'Job queues run jobs on any CartoonEngine (src/core/engine-port.ts), so they can run on a fake engine or in another process; they must not import the Node adapter',
      from: { path: '^src/queue/' },
      to: { path: '^src/node/' },
    },
    {
      name: 'server-uses-the-engine-port',
      severity: 'error',
      comment:
        'The service reaches the engine through the engine port. Only its composition root (src/server/service.ts) may create the Node engine, and only through src/node/portoon.ts; an API node of a cluster (src/server/cluster-service.ts) checks requests through src/node/cluster-catalogue.ts; the version string (src/node/version.ts, read from package.json) may be shown anywhere, and any node checks images for provenance marks (src/node/verify.ts, run in the threads of src/node/verify-pool.ts; no engine needed)',
      from: { path: '^src/server/' },
      to: {
        path: '^src/node/',
        pathNot: [
          '^src/node/version\\.ts$',
          '^src/node/portoon\\.ts$',
          '^src/node/cluster-catalogue\\.ts$',
          '^src/node/verify\\.ts$',
          '^src/node/verify-pool\\.ts$',
        ],
      },
    },
    {
      name: 'server-creates-the-engine-in-one-place',
      severity: 'error',
      comment:
        'Only the composition root (src/server/service.ts) and the engine factory it shares with worker nodes (src/server/create-engine.ts) may import the Node engine class; everything else in src/server takes a CartoonEngine',
      from: { path: '^src/server/', pathNot: '^src/server/(service|create-engine)\\.ts$' },
      to: { path: '^src/node/portoon\\.ts$' },
    },
    {
      name: 'cluster-catalogue-in-one-place',
      severity: 'error',
      comment: 'Only the API node’s composition root (src/server/cluster-service.ts) may create the cluster catalogue',
      from: { path: '^src/server/', pathNot: '^src/server/cluster-service\\.ts$' },
      to: { path: '^src/node/cluster-catalogue\\.ts$' },
    },
    {
      name: 'worker-node-reaches-no-routes',
      severity: 'error',
      comment: 'A worker node (src/worker) runs jobs and serves its own health and metrics; it must not depend on the HTTP API or the CLI',
      from: { path: '^src/worker/' },
      to: { path: '^src/(cli|server/(routes|plugins)|server/app\\.ts)' },
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
