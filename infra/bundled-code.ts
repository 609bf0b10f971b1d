import { AssetHashType, DockerImage } from "aws-cdk-lib";
import { Code } from "aws-cdk-lib/aws-lambda";
import { bundleLambdaSync, type LambdaName, PROJECT_ROOT } from "./bundling.ts";

/**
 * Deploys the bundle that infra/bundling.ts builds, the same one the tests and benchmarks load.
 * Bundling runs in-process with esbuild; Docker is never used.
 */
export function bundledCode(name: LambdaName): Code {
  return Code.fromAsset(PROJECT_ROOT, {
    // Hashing the output, not the source, keeps CDK from fingerprinting the whole project with
    // node_modules, and changes the asset exactly when the deployed bytes change.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type but never pulled: local bundling always succeeds or throws.
      image: DockerImage.fromRegistry("local-esbuild-bundling-only"),
      // Never run either. CDK caches staged assets by source path and bundling options and cannot
      // compare the local hook (a function): without a per-function option here, every function in
      // the stack would silently get the first function's bundle.
      command: ["esbuild", name],
      local: {
        tryBundle(outputDir) {
          bundleLambdaSync(name, outputDir);
          return true;
        },
      },
    },
  });
}
