import type { ChatSeed, PortalSeed } from "./portal-state.ts";

export const DEMO_WEBHOOK = { userId: 1, code: "demo0webhook0code" } as const;
/**
 * The demo webhook registered chat bot 7 with imbot.register(CLIENT_ID: "b24-transfer-demo"), so the
 * bot's APP_ID is "customb24-transfer-demo" and webhook callers act through it with that CLIENT_ID.
 */
export const DEMO_BOT = { id: 7, clientId: "b24-transfer-demo", appId: "customb24-transfer-demo" } as const;
/** A local application installed on the demo portal; its tokens come from `installApp()`. */
export const DEMO_APP = {
  clientId: "local.d3m0app0000000.00000000",
  clientSecret: "d3m0AppCl13ntS3cr3tD3m0AppCl13ntS3cr3t00",
} as const;
/** The bot DEMO_APP registered (APP_ID = the app's client id): the bot OAuth calls act through. */
export const DEMO_APP_BOT = { id: 9, appId: DEMO_APP.clientId } as const;

/**
 * The default portal, built around the docs' example (CHAT_ID 112, USER_ID 12):
 * - webhook 1/demo0webhook0code with scopes imopenlines, imbot, im; user 1 may join (read) lines 3, 4, 5
 * - a local application (DEMO_APP) with the same scopes, installed by user 1
 * - chat bots: 7 (webhook CLIENT_ID "b24-transfer-demo", the welcome bot of lines 3 and 4), 8 (webhook
 *   CLIENT_ID "other-bot-client"), 9 (registered by DEMO_APP)
 * - users: 1 admin, 12 and 14 active operators, 13 an inactive operator, 20 an extranet user,
 *   30 a connector (the external client's user)
 * - open lines: 3 "Support" (queue [12]), 4 "Sales" (queue [12, 14]), 5 "Archive" (inactive),
 *   6 "Partners" (queue [14]; user 1 has no permission on it)
 * - chats in every state: 112..120 on lines 3/4 held by bot 7 (its welcome-bot session); 121 answered
 *   by operator 12 (no bot); 122 closed; 123 waiting in line 4's queue; 124 held by bot 7 on line 6,
 *   which the demo webhook may not read (dialog.get: ACCESS_ERROR)
 */
export function demoPortal(): PortalSeed {
  const botChats: ChatSeed[] = [];
  for (let id = 112; id <= 120; id++) {
    botChats.push({ id, lineId: id % 2 === 0 ? 3 : 4, botIds: [DEMO_BOT.id] });
  }
  return {
    webhooks: [{ ...DEMO_WEBHOOK, scopes: ["imopenlines", "imbot", "im"] }],
    apps: [{ ...DEMO_APP, scopes: ["imopenlines", "imbot", "im"], userId: 1 }],
    users: [
      { id: 1, name: "Portal Admin", kind: "employee", active: true },
      { id: 7, name: "Demo Bot", kind: "bot", active: true },
      { id: 8, name: "Other Bot", kind: "bot", active: true },
      { id: 9, name: "App Bot", kind: "bot", active: true },
      { id: 12, name: "Olga Operator", kind: "employee", active: true },
      { id: 13, name: "Ivan Inactive", kind: "employee", active: false },
      { id: 14, name: "Sam Sales", kind: "employee", active: true },
      { id: 20, name: "Eve Extranet", kind: "extranet", active: true },
      { id: 30, name: "Telegram Client", kind: "connector", active: true },
    ],
    bots: [
      { id: DEMO_BOT.id, appId: DEMO_BOT.appId, code: "demo_bot" },
      { id: 8, appId: "customother-bot-client", code: "other_bot" },
      { id: DEMO_APP_BOT.id, appId: DEMO_APP_BOT.appId, code: "app_bot" },
    ],
    lines: [
      {
        id: 3,
        name: "Support",
        active: true,
        queue: [12],
        welcomeBot: { id: DEMO_BOT.id },
        greeting: "Hello! An operator will answer you shortly.",
        joinUserIds: [1],
      },
      {
        id: 4,
        name: "Sales",
        active: true,
        queue: [12, 14],
        welcomeBot: { id: DEMO_BOT.id },
        joinUserIds: [1],
      },
      { id: 5, name: "Archive", active: false, queue: [], joinUserIds: [1] },
      { id: 6, name: "Partners", active: true, queue: [14], welcomeBot: { id: DEMO_BOT.id } },
    ],
    chats: [
      ...botChats,
      { id: 121, lineId: 3, operatorId: 12 },
      { id: 122, lineId: 3, stage: "closed" },
      { id: 123, lineId: 4, stage: "queue" },
      { id: 124, lineId: 6, botIds: [DEMO_BOT.id] },
    ],
  };
}
