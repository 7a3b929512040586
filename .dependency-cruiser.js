/** Layering checks run by `npm test` (`npm run check:deps`). */
module.exports = {
  forbidden: [
    {
      name: 'no-circular-files',
      severity: 'error',
      comment: 'No file imports a file that (transitively) imports it back.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      scope: 'folder',
      comment: 'No folder of src/ imports from a folder that imports it back: modules form layers.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-depends-on-nothing',
      severity: 'error',
      comment:
        'src/domain is plain TypeScript: it imports only itself and pure npm helpers, never Nest or a feature module.',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '(^|/)node_modules/(canonicalize)/', '^(crypto|node:crypto)$'] },
    },
    {
      name: 'no-import-of-app-module',
      severity: 'error',
      comment: 'Feature modules never import the entry-point module.',
      from: { path: '^src/(?!main\\.ts|worker\\.ts)' },
      to: { path: '^src/app\\.module\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
