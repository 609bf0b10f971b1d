import { bundleLambda } from "../../infra/bundling.ts";

export default async function buildBundle(): Promise<void> {
  await bundleLambda("transfer");
}
