// See infra/bundling.ts: a CommonJS view of node:http, so its lazy exports stay lazy in the ESM bundle.
module.exports = process.getBuiltinModule("node:http");
