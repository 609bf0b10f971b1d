import { bundleLambda, LAMBDA_ENTRIES, type LambdaName } from "../infra/bundling.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: npm run build

Bundles the functions into dist/ exactly as cdk deploy ships them (infra/bundling.ts).`);
  process.exit(0);
}

for (const name of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
  const outdir = await bundleLambda(name);
  console.log(`built ${name} → ${outdir}/index.mjs`);
}
