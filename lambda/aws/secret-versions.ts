/**
 * Compare-and-swap writes of a secret: a new version is written beside the current one, then
 * `AWSCURRENT` is moved to it only from the version the writer read. If another writer moved it first,
 * the move fails and nothing of theirs is overwritten. Only OAuth portals write their secret.
 */
import { secretsManager } from "./secrets-manager.ts";

/** Keeps a written version from being an unlabelled ("deprecated") one before it becomes current. */
export const STAGED_LABEL = "B24TRANSFER_STAGED";

export interface SecretVersions {
  /** Writes `value` as version `versionId` without making it current; repeating it is harmless. */
  stage(secretId: string, versionId: string, value: string): Promise<void>;
  /** Makes `versionId` current, only if `expectedCurrent` still is. */
  promote(secretId: string, versionId: string, expectedCurrent: string): Promise<void>;
  /** The version that is current now. */
  currentVersion(secretId: string): Promise<string | undefined>;
}

export const secretVersions: SecretVersions = {
  async stage(secretId, versionId, value) {
    const { sdk, client } = await secretsManager();
    await client.send(
      new sdk.PutSecretValueCommand({
        SecretId: secretId,
        SecretString: value,
        // The version id: a retry with the same value succeeds without writing a second version.
        ClientRequestToken: versionId,
        VersionStages: [STAGED_LABEL],
      }),
    );
  },

  async promote(secretId, versionId, expectedCurrent) {
    const { sdk, client } = await secretsManager();
    await client.send(
      new sdk.UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: "AWSCURRENT",
        MoveToVersionId: versionId,
        RemoveFromVersionId: expectedCurrent,
      }),
    );
  },

  async currentVersion(secretId) {
    const { sdk, client } = await secretsManager();
    const output = await client.send(new sdk.DescribeSecretCommand({ SecretId: secretId }));
    const stages = Object.entries(output.VersionIdsToStages ?? {});
    return stages.find(([, labels]) => labels.includes("AWSCURRENT"))?.[0];
  },
};
