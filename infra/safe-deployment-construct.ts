import { Duration, Stack, Validations } from "aws-cdk-lib";
import type { IAlarm } from "aws-cdk-lib/aws-cloudwatch";
import {
  type ILambdaDeploymentConfig,
  LambdaApplication,
  LambdaDeploymentConfig,
  LambdaDeploymentGroup,
  TrafficRouting,
} from "aws-cdk-lib/aws-codedeploy";
import type { Alias } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import type { DeploymentSetting } from "./config.ts";

export interface SafeDeploymentProps {
  setting: DeploymentSetting;
}

/**
 * CodeDeploy moves each function's `live` alias from the version it serves to the one a deploy
 * publishes, as the `deployment` setting says, and moves it back by itself when one of the given
 * alarms goes off while it does (docs/deploy.md). One CodeDeploy application, a group per function.
 */
export class SafeDeployment extends Construct {
  readonly application: LambdaApplication;
  readonly config: ILambdaDeploymentConfig;
  readonly groups: LambdaDeploymentGroup[] = [];

  constructor(scope: Construct, id: string, props: SafeDeploymentProps) {
    super(scope, id);
    // Named after the stack (unique per account and region), so the commands in docs/deploy.md are fixed.
    this.application = new LambdaApplication(this, "Application", {
      applicationName: Stack.of(this).stackName,
    });
    this.config = deploymentConfig(this, props.setting);
  }

  /**
   * Deploys `alias` gradually; any of `alarms` in ALARM stops the deploy and restores the old version.
   * The group is called `name` within the application.
   */
  add(name: string, alias: Alias, alarms: IAlarm[]): LambdaDeploymentGroup {
    const group = new LambdaDeploymentGroup(this, name, {
      application: this.application,
      deploymentGroupName: name,
      alias,
      deploymentConfig: this.config,
      alarms,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    Validations.of(group.role).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
      reason: `CodeDeploy's service role for the ${name} function's deploys: CDK's LambdaDeploymentGroup always attaches AWSCodeDeployRoleForLambdaLimited, AWS's narrowest policy for shifting a Lambda alias (lambda:GetAlias/UpdateAlias, cloudwatch:DescribeAlarms, SNS only to CodeDeployTopic_*).`,
    });
    this.groups.push(group);
    return group;
  }
}

function deploymentConfig(scope: Construct, setting: DeploymentSetting): ILambdaDeploymentConfig {
  if (setting.type === "all-at-once") return LambdaDeploymentConfig.ALL_AT_ONCE;
  const interval = Duration.minutes(setting.minutes);
  return new LambdaDeploymentConfig(scope, "Config", {
    trafficRouting:
      setting.type === "canary"
        ? TrafficRouting.timeBasedCanary({ interval, percentage: setting.percent })
        : TrafficRouting.timeBasedLinear({ interval, percentage: setting.percent }),
  });
}
