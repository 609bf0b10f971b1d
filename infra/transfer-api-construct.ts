import { RemovalPolicy } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

export interface TransferApiProps {
  handler: IFunction;
  authorizer: IHttpRouteAuthorizer;
  throttling: { rateLimit: number; burstLimit: number };
  logRetention: RetentionDays;
}

export const TRANSFERS_PATH = "/transfers";
export const CHAT_READ_PATH = "/transfers/chats/{chatId}";

/** The HTTP API: `POST /transfers` and `GET /transfers/chats/{chatId}`, authorized, throttled, with JSON access logs. */
export class TransferApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The full URL of `POST /transfers`. */
  readonly transfersUrl: string;

  constructor(scope: Construct, id: string, props: TransferApiProps) {
    super(scope, id);
    // No default stage: the stage is declared below so throttling and access logs are part of it.
    this.api = new HttpApi(this, "Api", {
      description: "Hands Bitrix24 Open Lines chats to an operator or queue",
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: props.throttling,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: accessLogFormat(),
      },
    });
    const integration = new HttpLambdaIntegration("Transfer", props.handler);
    this.api.addRoutes({
      path: TRANSFERS_PATH,
      methods: [HttpMethod.POST],
      integration,
      authorizer: props.authorizer,
    });
    // The read a caller settles an unknown outcome with: same function, same authorizer.
    this.api.addRoutes({
      path: CHAT_READ_PATH,
      methods: [HttpMethod.GET],
      integration,
      authorizer: props.authorizer,
    });
    this.transfersUrl = `${this.stage.url.replace(/\/$/, "")}${TRANSFERS_PATH}`;
  }
}

/** One JSON object per request; `client` is the name the token authorizer resolved, `-` otherwise. */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: "$context.requestId",
      requestTime: "$context.requestTime",
      sourceIp: "$context.identity.sourceIp",
      userAgent: "$context.identity.userAgent",
      method: "$context.httpMethod",
      routeKey: "$context.routeKey",
      path: "$context.path",
      status: "$context.status",
      responseLength: "$context.responseLength",
      responseLatency: "$context.responseLatency",
      integrationStatus: "$context.integrationStatus",
      integrationLatency: "$context.integrationLatency",
      integrationError: "$context.integrationErrorMessage",
      authorizerError: "$context.authorizer.error",
      client: "$context.authorizer.client",
      iamCaller: "$context.identity.userArn",
    }),
  );
}
