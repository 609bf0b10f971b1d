import { bundleLambda, LAMBDA_ENTRIES, type LambdaName } from "../infra/bundling.ts";

for (const name of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
  const outdir = await bundleLambda(name);
  console.log(`built ${name} → ${outdir}/index.mjs`);
}
