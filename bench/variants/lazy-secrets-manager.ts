import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/**
 * PROPOSAL, measured by the benchmark only: the AWS SDK kept for what only OAuth portals do (writing
 * secret versions, lambda/adapters/secret-versions.ts) but loaded on first use, so it leaves the code
 * every cold start loads. Command objects only record their input; `send` imports the SDK (a lazily
 * loaded chunk), builds the real command by name and sends it with one real client.
 */
type Sdk = typeof import("@aws-sdk/client-secrets-manager");

class LazyCommand<Input> {
  constructor(
    readonly name: keyof Sdk,
    readonly input: Input,
  ) {}
}

const command = <Input>(name: keyof Sdk) =>
  class extends LazyCommand<Input> {
    constructor(input: Input) {
      super(name, input);
    }
  };

export const PutSecretValueCommand = command<Record<string, unknown>>("PutSecretValueCommand");
export const UpdateSecretVersionStageCommand = command<Record<string, unknown>>(
  "UpdateSecretVersionStageCommand",
);
export const DescribeSecretCommand = command<Record<string, unknown>>("DescribeSecretCommand");

let real: Promise<{ sdk: Sdk; client: SecretsManagerClient }> | undefined;

export function secretsManagerClient() {
  return {
    async send(lazy: LazyCommand<unknown>): Promise<never> {
      real ??= import("@aws-sdk/client-secrets-manager").then((sdk) => ({
        sdk,
        client: new sdk.SecretsManagerClient({}),
      }));
      const { sdk, client } = await real;
      const Command = sdk[lazy.name] as unknown as new (
        input: unknown,
      ) => Parameters<SecretsManagerClient["send"]>[0];
      return (await client.send(new Command(lazy.input))) as never;
    },
  };
}
