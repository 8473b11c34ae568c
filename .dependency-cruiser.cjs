// The walls of shared/DESIGN.md (Layout), checked by `npm run lint`.
// Paths are relative to the directory depcruise runs in: the repository root for the lint, a fixture
// root for test/unit/Walls.test.ts. So app folders are anchored (`^src/`), while npm packages are
// matched wherever their node_modules is (`(^|/)node_modules/`), which for a fixture is
// `../../../../node_modules/`.
const path = require("node:path")

const app = "^(src|services|layers|migrations)/"
const npm = "(^|/)node_modules/"

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "domain-imports-no-app",
      comment:
        "src/domain/ is the vocabulary every other folder speaks (ids, records, errors, events, policy); " +
        "if it imported anything of the app, every consumer would drag that in and cycles would follow.",
      severity: "error",
      from: { path: "^src/domain/" },
      to: { pathNot: [`^src/domain/`, npm], dependencyTypesNot: ["core"], couldNotResolve: false }
    },
    {
      name: "services-only-domain-and-effect",
      comment:
        "services/ holds contracts (a Tag, an interface, its errors) with no requirements, so any layer " +
        "can implement them and any consumer can use them; naming @effect/sql, layers/ or src/api there " +
        "leaks an implementation into the contract. Type-only imports count too.",
      severity: "error",
      from: { path: "^services/" },
      to: { pathNot: ["^services/", "^src/domain/", `${npm}effect/`], couldNotResolve: false }
    },
    {
      name: "only-main-imports-live-layers",
      comment:
        "layers/Main.ts is the one composition root; a *Live layer imported anywhere else is a second " +
        "wiring of the app (and a second instance of its resources).",
      severity: "error",
      from: { path: app, pathNot: "^layers/Main\\.ts$" },
      to: { path: "^layers/.*Live\\.ts$" }
    },
    {
      name: "migrations-not-layers-or-services",
      comment:
        "Migrations run before the services exist (a SqlClient means a migrated database) and must stay " +
        "replayable forever; shared SQL helpers live in src/sql/ for that reason.",
      severity: "error",
      from: { path: "^migrations/" },
      to: { path: "^(layers|services)/" }
    },
    {
      name: "api-not-layers",
      comment:
        "src/api/ is the wire contract that clients compile against; it is implemented in layers/, " +
        "never the other way round.",
      severity: "error",
      from: { path: "^src/api/" },
      to: { path: "^layers/" }
    },
    {
      name: "client-only-api-and-domain",
      comment:
        "src/client/ ships to other programs and browsers: it may use the wire contract (src/api/), the " +
        "domain and npm packages, nothing of the server and no node: built-ins.",
      severity: "error",
      from: { path: "^src/client/" },
      to: { pathNot: ["^src/(client|api|domain)/", npm], couldNotResolve: false }
    },
    {
      name: "client-not-platform-node",
      comment:
        "A browser must be able to bundle src/client/; @effect/platform-node (and its -shared half) " +
        "pulls in node's http, net and fs.",
      severity: "error",
      from: { path: "^src/client/" },
      to: { path: `${npm}@effect/platform-node(-shared)?/` }
    },
    {
      name: "no-circular",
      comment:
        "A cycle makes module initialisation order-dependent (a const read before it is set) and " +
        "means two modules are really one.",
      severity: "error",
      from: { path: app },
      to: { circular: true }
    },
    {
      name: "not-to-unresolvable",
      comment:
        "An import that does not resolve cannot be checked against any wall, and fails at run time.",
      severity: "error",
      from: { path: app },
      to: { couldNotResolve: true }
    }
  ],
  options: {
    // Type-only imports vanish in compiled JS; the walls hold for them too (services/ imports types only).
    tsPreCompilationDeps: true,
    // Absolute, so the same config resolves the same way from a fixture root.
    tsConfig: { fileName: path.join(__dirname, "tsconfig.json") },
    doNotFollow: { path: "node_modules" },
    // The wall fixtures cross walls on purpose; only test/unit/Walls.test.ts cruises them.
    exclude: { path: "^test/fixtures/" },
    moduleSystems: ["es6", "cjs"],
    // A package resolves through its `exports` map with the conditions of an ESM import in node or tsc;
    // the @effect maps list `types` first, so targets show as .d.ts. The rules only look at the package.
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"]
    }
  }
}
