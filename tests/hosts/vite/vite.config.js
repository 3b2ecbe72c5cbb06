// Built offline by tests/e2e/hosts.test.mjs from the packed tarball (node_modules/medtriage).
export default {
  logLevel: "warn",
  worker: { format: "es" },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
};
