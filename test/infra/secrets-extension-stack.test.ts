import type { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { BASE_CONFIG, FULL_CONFIG, synthTemplate } from "./synth.ts";

type Fn = {
  Properties: {
    Description?: string;
    Layers?: unknown[];
    Environment?: { Variables: Record<string, unknown> };
  };
};

function functions(template: Template) {
  const all = Object.values(template.findResources("AWS::Lambda::Function")) as Fn[];
  const transfer = all.find((fn) => /hands a Bitrix24/.test(String(fn.Properties.Description)));
  const authorizer = all.find((fn) => /authorizer/.test(String(fn.Properties.Description)));
  if (!transfer || !authorizer) throw new Error("the stack lacks a function");
  return { transfer, authorizer };
}

describe("the Parameters and Secrets extension in the stack", () => {
  it("is on by default: one layer and the settings the function reads, its cache no longer than the function's", () => {
    const { transfer } = functions(synthTemplate(BASE_CONFIG));
    expect(transfer.Properties.Layers).toHaveLength(1);
    // An environment-agnostic stack picks the region's AWS-managed layer (arm64, like the function) from a mapping.
    const template = synthTemplate(BASE_CONFIG);
    const [lookup] = functions(template).transfer.Properties.Layers as {
      "Fn::FindInMap": [string, unknown, string];
    }[];
    const [mapName, , key] = lookup?.["Fn::FindInMap"] ?? [];
    const arns = template.toJSON().Mappings[mapName as string] as Record<string, Record<string, string>>;
    expect(arns["eu-central-1"]?.[key as string]).toMatch(
      /^arn:aws:lambda:eu-central-1:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$/,
    );
    expect(transfer.Properties.Environment?.Variables).toMatchObject({
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773",
      PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: "true",
      SECRETS_MANAGER_TTL: "300",
    });
    const shortCache = functions(synthTemplate({ ...FULL_CONFIG, secretCacheTtlSeconds: 120 })).transfer;
    expect(shortCache.Properties.Environment?.Variables.SECRETS_MANAGER_TTL).toBe("120");
  });

  it("can be switched off: no layer, no extension settings, the SDK reads the secrets", () => {
    const { transfer } = functions(synthTemplate({ ...BASE_CONFIG, secretsExtension: false }));
    expect(transfer.Properties.Layers).toBeUndefined();
    expect(Object.keys(transfer.Properties.Environment?.Variables ?? {})).not.toContain(
      "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
    );
  });

  it("is not given to the authorizer", () => {
    const { authorizer } = functions(synthTemplate(BASE_CONFIG));
    expect(authorizer.Properties.Layers).toBeUndefined();
  });
});
