/**
 * The AWS region for the operator tools (doctor, replay-failures). The SDK takes it from AWS_REGION or
 * the profile; without either it fails with a bare "Region is missing". A queue URL or an ARN names
 * its region, and that is where the resource is, so the tools use it when one does.
 */

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The region in `https://sqs.<region>.amazonaws.com/…` (or the legacy `<region>.queue.amazonaws.com`). */
export function regionOfQueueUrl(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  const region =
    /^sqs\.([^.]+)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1] ??
    /^([^.]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host)?.[1];
  return region && REGION.test(region) ? region : undefined;
}

/** The region field of an ARN (`arn:<partition>:<service>:<region>:…`), when it has one. */
export function regionOfArn(arn: string): string | undefined {
  const region = arn.startsWith("arn:") ? arn.split(":")[3] : undefined;
  return region && REGION.test(region) ? region : undefined;
}

/** The SDK's error when neither AWS_REGION nor the profile gives a region. */
export function isRegionMissing(error: unknown): boolean {
  return error instanceof Error && /Region is missing/i.test(error.message);
}

export const REGION_ADVICE =
  "no AWS region: set AWS_REGION to the stack's region (e.g. AWS_REGION=eu-central-1), or AWS_PROFILE to a profile that has one";
