import { afterEach, describe, expect, it } from "vitest";
import {
  DEMO_BOT,
  demoPortal,
  type PortalSeed,
  type Simulator,
  startSimulator,
} from "../scripts/simulator/index.ts";

/**
 * What the simulated portal does to Open Lines chats and shows through imopenlines.dialog.get, each
 * behaviour from the imopenlines module source (imopenlines/lib/rest.php, chat.php, session.php,
 * queue/queue.php, config.php; im/lib/chat.php).
 */

const TRANSFER = "imopenlines.bot.session.transfer";
const OPERATOR = "imopenlines.bot.session.operator";
const MESSAGE_SEND = "imopenlines.bot.session.message.send";
const DIALOG_GET = "imopenlines.dialog.get";
const CONFIG_GET = "imopenlines.config.get";
/** 2026-01-01T00:00:00Z in Unix seconds: every seeded session's DATE_CREATE under the test clock. */
const CREATED = Date.UTC(2026, 0, 1) / 1000;
const NO_CRM = "LEAD|0|COMPANY|0|CONTACT|0|DEAL|0";

const running: Simulator[] = [];
async function start(portal: PortalSeed = demoPortal()): Promise<Simulator> {
  const sim = await startSimulator({ rateLimit: false, now: () => CREATED * 1000, portal });
  running.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

/** A webhook call; transfers act through the demo bot unless params name a CLIENT_ID. */
async function call(
  sim: Simulator,
  method: string,
  params: Record<string, unknown> = {},
  webhook?: { userId: number; code: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = method === TRANSFER ? { CLIENT_ID: DEMO_BOT.clientId, ...params } : params;
  const response = await fetch(`${sim.webhookUrl(webhook)}${method}.json`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** dialog.get's answer for a chat (asserting it succeeded). */
async function dialog(sim: Simulator, chatId: number): Promise<Record<string, unknown>> {
  const reply = await call(sim, DIALOG_GET, { CHAT_ID: chatId });
  expect(reply.status).toBe(200);
  return reply.body.result as Record<string, unknown>;
}

/** LINES_SESSION as Chat::getFieldData reads it: CRM|TYPE|ID|PAUSE|WAIT_ACTION|SESSION_ID|DATE_CREATE|LINE_ID. */
function linesSession(sessionId: number, lineId: number, created = CREATED): string {
  return `N|NONE|0|N|N|${sessionId}|${created}|${lineId}`;
}

/** Member user ids dialog.get lists in readed_list (every active member but the reader). */
function members(result: Record<string, unknown>): number[] {
  return (result.readed_list as Array<{ user_id: number }>).map((entry) => entry.user_id);
}

const ACCESS_ERROR = {
  error: "ACCESS_ERROR",
  error_description: "You do not have access to the specified dialog",
};

function withChats(edit: (chats: PortalSeed["chats"]) => PortalSeed["chats"]): PortalSeed {
  const seed = demoPortal();
  return { ...seed, chats: edit(seed.chats) };
}

function withLine(lineId: number, change: Partial<PortalSeed["lines"][number]>): PortalSeed {
  const seed = demoPortal();
  return { ...seed, lines: seed.lines.map((line) => (line.id === lineId ? { ...line, ...change } : line)) };
}

describe("imopenlines.dialog.get: what it shows at every stage (rest.php dialogGet → Im\\Chat::getById → formatChatData)", () => {
  it("bot holds: owner 0, because queue/queue.php createSession makes the welcome bot the session's OPERATOR_ID but session.php never runs Chat::answer for it", async () => {
    const sim = await start();
    const result = await dialog(sim, 112);
    expect(result).toMatchObject({
      id: 112,
      owner: 0,
      type: "lines",
      entity_type: "LINES",
      entity_id: "livechat|3|112|30",
      entity_data_1: linesSession(1120, 3),
      entity_data_2: NO_CRM,
      message_type: "L",
      date_create: "2026-01-01T00:00:00+00:00",
      role: "guest",
      manager_list: [],
      dialog_id: "chat112",
    });
    // The bot is a member (the client's connector user too); the reader (webhook user 1) is not.
    expect(result.readed_list).toEqual([
      { user_id: 30, user_name: "Telegram Client", message_id: 0, date: null },
      { user_id: 7, user_name: "Demo Bot", message_id: 0, date: null },
    ]);
    expect(sim.chat(112)).toMatchObject({ stage: "bot", sessionOperatorId: 7, ownerId: 0 });
  });

  it("waiting in a queue (chat.php transferToQueue): owner 0, LINES_SESSION carries the target line, the sending bot stays", async () => {
    const sim = await start();
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, QUEUE_ID: 4, LEAVE: "Y" })).status).toBe(200);
    const result = await dialog(sim, 112);
    expect(result).toMatchObject({
      owner: 0,
      entity_id: "livechat|3|112|30",
      entity_data_1: linesSession(1120, 4),
    });
    expect(members(result)).toEqual([30, 7]);
  });

  it("waiting in its own line's queue after session.operator (chat.php endBotSession): owner 0, the bot gone", async () => {
    const sim = await start();
    expect((await call(sim, OPERATOR, { CHAT_ID: 113 })).status).toBe(200);
    const result = await dialog(sim, 113);
    expect(result).toMatchObject({ owner: 0, entity_data_1: linesSession(1130, 4) });
    expect(members(result)).toEqual([30]);
  });

  it("a bot's transfer to a user is answered at once: owner is the user (transferToOperator → Chat::answer), no pending offer", async () => {
    const sim = await start();
    expect((await call(sim, TRANSFER, { CHAT_ID: 114, USER_ID: 14, LEAVE: "N" })).status).toBe(200);
    const result = await dialog(sim, 114);
    expect(result).toMatchObject({ owner: 14, entity_data_1: linesSession(1140, 3) });
    // Chat::answer removed the line's welcome bot although LEAVE was N (WELCOME_BOT_LEFT=queue).
    expect(members(result)).toEqual([30, 14]);
    expect(sim.chat(114)).toMatchObject({ stage: "answered", sessionOperatorId: 14 });
  });

  it("offered by the queue (Queue::transferToNext, TRANSFER_MODE_AUTO): owner stays 0; once the operator answers (Chat::answer) it is theirs and the welcome bot leaves", async () => {
    const sim = await start();
    expect((await call(sim, TRANSFER, { CHAT_ID: 116, QUEUE_ID: 3 })).status).toBe(200);
    expect(sim.offer(116, 12)).toBe(true);
    expect(sim.chat(116)).toMatchObject({ stage: "offered", sessionOperatorId: 12, ownerId: 0 });
    expect((await dialog(sim, 116)).owner).toBe(0);

    expect(sim.answer(116, 12)).toBe(true);
    const result = await dialog(sim, 116);
    expect(result.owner).toBe(12);
    expect(members(result)).toEqual([30, 12]);
    expect(sim.chat(116)).toMatchObject({
      stage: "answered",
      sessionOperatorId: 12,
      botIds: [],
      userIds: [12],
    });
    // Chat::answer refuses the user who already is the owner.
    expect(sim.answer(116, 12)).toBe(false);
  });

  it("answered by a person (seeded chat 121): owner is the operator", async () => {
    const sim = await start();
    const result = await dialog(sim, 121);
    expect(result).toMatchObject({ owner: 12, entity_data_1: linesSession(1210, 3) });
    expect(members(result)).toEqual([30, 12]);
  });

  it("closed (Chat::finish → Chat::close): owner 0, session id 0, only the client left", async () => {
    const sim = await start();
    expect(sim.finish(121)).toBe(true);
    const result = await dialog(sim, 121);
    expect(result).toMatchObject({ owner: 0, entity_data_1: linesSession(0, 3) });
    expect(members(result)).toEqual([30]);
    expect(sim.finish(121)).toBe(false);
    // The seeded closed chat reads the same way.
    expect((await dialog(sim, 122)).entity_data_1).toBe(linesSession(0, 3, 0));
    // Chat::answer loads the session WITH SKIP_CREATE: no dialogue, nothing to answer.
    expect(sim.answer(122, 12)).toBe(false);
  });

  it("a CRM binding shows in LINES_SESSION and LINES_CRM (Chat::getFieldData)", async () => {
    const sim = await start(
      withChats((chats) =>
        chats.map((chat) =>
          chat.id === 112 ? { ...chat, crm: { entityType: "LEAD", entityId: 55 } } : chat,
        ),
      ),
    );
    expect(await dialog(sim, 112)).toMatchObject({
      entity_data_1: `Y|LEAD|55|N|N|1120|${CREATED}|3`,
      entity_data_2: "LEAD|55|COMPANY|0|CONTACT|0|DEAL|0",
    });
  });

  it("no access: 400 ACCESS_ERROR without the line's join permission (Chat::hasAccess → Config::canJoin), unless the reader is a member (Im\\V2\\Chat::checkAccess)", async () => {
    const sim = await start();
    // Chat 124 is on line 6, where webhook user 1 holds no permission.
    expect(await call(sim, DIALOG_GET, { CHAT_ID: 124 })).toEqual({ status: 400, body: ACCESS_ERROR });

    // User 14 has no permission on line 3 either, but may read a chat they are a member of.
    sim.addWebhook({ userId: 14, code: "sam0code", scopes: ["imopenlines"] });
    const sam = { userId: 14, code: "sam0code" };
    expect(await call(sim, DIALOG_GET, { CHAT_ID: 112 }, sam)).toEqual({ status: 400, body: ACCESS_ERROR });
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 14 })).status).toBe(200);
    const reply = await call(sim, DIALOG_GET, { CHAT_ID: 112 }, sam);
    expect(reply.status).toBe(200);
    expect(reply.body.result).toMatchObject({ owner: 14, role: "owner" });
  });

  it.each([
    ["an unknown chat", { CHAT_ID: 999 }],
    ["CHAT_ID 0", { CHAT_ID: 0 }],
    [
      "CHAT_ID set but not a number, even with a DIALOG_ID (isset(CHAT_ID) decides)",
      { CHAT_ID: "x", DIALOG_ID: "chat112" },
    ],
    ["a DIALOG_ID that is a user", { DIALOG_ID: "12" }],
    ["an unknown SESSION_ID", { SESSION_ID: 4242 }],
    ["an unknown USER_CODE", { USER_CODE: "livechat|3|999|30" }],
    ["no parameter at all", {}],
  ])("%s → 400 ACCESS_ERROR, the module's only refusal", async (_name, params) => {
    const sim = await start();
    expect(await call(sim, DIALOG_GET, params)).toEqual({ status: 400, body: ACCESS_ERROR });
  });

  it.each([
    ["DIALOG_ID chat112", { DIALOG_ID: "chat112" }],
    ["DIALOG_ID CHAT112 (Im\\Common::isChatId is case-insensitive)", { DIALOG_ID: "CHAT112" }],
    ["lower-case keys (array_change_key_case)", { dialog_id: "chat112" }],
    ["SESSION_ID (Chat::getChatIdBySession)", { SESSION_ID: 1120 }],
    ["USER_CODE (Chat::getChatIdByUserCode)", { USER_CODE: "livechat|3|112|30" }],
    ["USER_CODE with the imol| prefix", { USER_CODE: "imol|livechat|3|112|30" }],
  ])("finds the chat by %s (rest.php getChatId)", async (_name, params) => {
    const sim = await start();
    const reply = await call(sim, DIALOG_GET, params);
    expect(reply.status).toBe(200);
    expect(reply.body.result).toMatchObject({ id: 112, dialog_id: "chat112" });
  });

  it("a closed session's id still finds its chat, which now shows the new dialogue", async () => {
    const sim = await start();
    expect(sim.finish(112)).toBe(true);
    expect((await call(sim, MESSAGE_SEND, { CHAT_ID: 112, NAME: "DEFAULT", MESSAGE: "hi" })).status).toBe(
      200,
    );
    const reply = await call(sim, DIALOG_GET, { SESSION_ID: 1120 });
    expect(reply.body.result).toMatchObject({ id: 112, entity_data_1: linesSession(1241, 3) });
  });

  it("an OAuth application reads as the user who installed it", async () => {
    const sim = await start();
    const grant = sim.installApp();
    const response = await fetch(`${sim.url}/rest/${DIALOG_GET}.json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CHAT_ID: 112, auth: grant.access_token }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ result: { id: 112, owner: 0 } });
  });

  it("batch carries 50 dialog.get commands in one request, each answered under its key", async () => {
    const sim = await start();
    const chatIds = Array.from({ length: 50 }, (_, index) => [112, 121, 122, 123, 124][index % 5] as number);
    const cmd = Object.fromEntries(chatIds.map((id, index) => [`c${index}`, `${DIALOG_GET}?CHAT_ID=${id}`]));
    const reply = await call(sim, "batch", { halt: 0, cmd });
    expect(reply.status).toBe(200);
    const batch = reply.body.result as {
      result: Record<string, { owner: number }>;
      result_error: Record<string, unknown>;
    };
    expect(batch.result.c0).toMatchObject({ id: 112, owner: 0 });
    expect(batch.result.c1).toMatchObject({ id: 121, owner: 12 });
    expect(Object.keys(batch.result)).toHaveLength(40);
    expect(batch.result_error.c4).toEqual(ACCESS_ERROR);
    expect(Object.keys(batch.result_error)).toHaveLength(10);
    expect(sim.hits).toEqual([{ method: "batch", status: 200, at: expect.any(Number) }]);
  });
});

describe("hand-overs the module does not refuse (chat.php Chat::transfer checks nothing about who holds the chat)", () => {
  it("a chat a person holds is taken from them: a queue transfer removes the operator (transferToQueue)", async () => {
    const sim = await start();
    expect(await call(sim, TRANSFER, { CHAT_ID: 121, QUEUE_ID: 4 })).toMatchObject({
      status: 200,
      body: { result: true },
    });
    expect(sim.ledger).toMatchObject([{ chatId: 121, to: { queueId: 4 }, sessionId: 1210, reopened: false }]);
    expect(sim.chat(121)).toMatchObject({ stage: "queue", lineId: 4, ownerId: 0, userIds: [] });
  });

  it("a chat the bot already handed over is transferred again, to a person who then holds it", async () => {
    const sim = await start();
    expect((await call(sim, TRANSFER, { CHAT_ID: 115, USER_ID: 12 })).status).toBe(200);
    expect((await call(sim, TRANSFER, { CHAT_ID: 115, USER_ID: 14 })).status).toBe(200);
    // Once answered, transferToOperator removes every other person; Chat::answer makes 14 the owner.
    expect(sim.chat(115)).toMatchObject({ stage: "answered", ownerId: 14, userIds: [14] });
    expect(sim.ledger.map((record) => record.to)).toEqual([{ userId: 12 }, { userId: 14 }]);
  });

  it("a closed dialogue: Session::load without SKIP_CREATE opens a NEW session (session.php start → createSession) and transfers that", async () => {
    const sim = await start();
    const reply = await call(sim, TRANSFER, { CHAT_ID: 122, USER_ID: 12 });
    expect(reply).toMatchObject({ status: 200, body: { result: true } });
    expect(sim.ledger).toMatchObject([{ chatId: 122, sessionId: 1241, reopened: true }]);
    expect(sim.chat(122)).toMatchObject({ stage: "answered", sessionId: 1241, ownerId: 12, userIds: [12] });
  });

  it("a closed dialogue and a queue transfer: reopened on its own line, then moved", async () => {
    const sim = await start();
    expect((await call(sim, TRANSFER, { CHAT_ID: 122, QUEUE_ID: 4 })).status).toBe(200);
    expect(sim.chat(122)).toMatchObject({ stage: "queue", sessionId: 1241, lineId: 4 });
    expect((await dialog(sim, 122)).entity_data_1).toBe(linesSession(1241, 4));
  });

  it("a closed dialogue is reopened even when the transfer is then refused (the session loads before the target is checked)", async () => {
    const sim = await start();
    const reply = await call(sim, TRANSFER, { CHAT_ID: 122, USER_ID: 13 });
    expect(reply).toMatchObject({ status: 400, body: { error: "OPERATOR_WRONG" } });
    expect(sim.ledger).toEqual([]);
    expect(sim.chat(122)).toMatchObject({ stage: "queue", sessionId: 1241 });
  });

  it("the welcome bot rejoins a reopened dialogue only with WELCOME_BOT_JOIN=always (queue/queue.php createSession)", async () => {
    const sim = await start(withLine(3, { welcomeBot: { id: DEMO_BOT.id, join: "always" } }));
    expect(sim.finish(112)).toBe(true);
    expect((await call(sim, OPERATOR, { CHAT_ID: 112 })).status).toBe(200);
    expect(sim.ledger).toMatchObject([
      { method: OPERATOR, chatId: 112, sessionId: 1241, reopened: true, botId: 7 },
    ]);
    expect(sim.chat(112)).toMatchObject({ stage: "queue", botIds: [] });
  });

  it("session.operator on a closed dialogue without a rejoining bot: WRONG_CHAT, yet the dialogue was reopened (chat.php endBotSession)", async () => {
    const sim = await start();
    const reply = await call(sim, OPERATOR, { CHAT_ID: 122 });
    expect(reply).toEqual({
      status: 400,
      body: { error: "WRONG_CHAT", error_description: "Operator is not a bot" },
    });
    expect(sim.ledger).toEqual([]);
    expect(sim.chat(122)).toMatchObject({ stage: "queue", sessionId: 1241 });
  });

  it("message.send to a closed dialogue writes into a new one (sendAutoMessage loads without SKIP_CREATE)", async () => {
    const sim = await start();
    expect(
      (await call(sim, MESSAGE_SEND, { CHAT_ID: 122, NAME: "DEFAULT", MESSAGE: "Hello again" })).status,
    ).toBe(200);
    expect(sim.messages).toMatchObject([{ chatId: 122, name: "DEFAULT", message: "Hello again" }]);
    expect(sim.chat(122)).toMatchObject({ stage: "queue", sessionId: 1241 });
  });

  it("an inactive line is accepted: transferToQueue only checks that ConfigTable::getById finds it", async () => {
    const sim = await start();
    expect(await call(sim, TRANSFER, { CHAT_ID: 112, TRANSFER_ID: "queue5" })).toMatchObject({
      status: 200,
      body: { result: true },
    });
    expect(sim.ledger).toMatchObject([{ chatId: 112, to: { queueId: 5 } }]);
    expect(sim.chat(112)).toMatchObject({ stage: "queue", lineId: 5 });
  });

  it("on an inactive line a user target is made owner before Chat::answer, which then refuses (already responsible): the bot stays", async () => {
    const sim = await start(withChats((chats) => [...chats, { id: 130, lineId: 5, botIds: [8] }]));
    expect(
      (await call(sim, TRANSFER, { CHAT_ID: 130, USER_ID: 12, CLIENT_ID: "other-bot-client" })).status,
    ).toBe(200);
    expect(sim.chat(130)).toMatchObject({
      stage: "answered",
      ownerId: 12,
      sessionOperatorId: 8,
      botIds: [8],
      userIds: [12],
    });
  });
});

describe("LEAVE in chat.php transferToOperator and Chat::answer", () => {
  /** Chat 112 with the demo bot 7 (line 3's welcome bot) and bot 8, which acts with its own CLIENT_ID. */
  const twoBots = () =>
    withChats((chats) => chats.map((chat) => (chat.id === 112 ? { ...chat, botIds: [7, 8] } : chat)));

  it("below 'answered', LEAVE=Y does not remove a bot that is not the line's welcome bot (only its fake relation)", async () => {
    const sim = await start(twoBots());
    expect(
      (await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12, LEAVE: "Y", CLIENT_ID: "other-bot-client" }))
        .status,
    ).toBe(200);
    // Bot 8 stays; the welcome bot 7 leaves through Chat::answer (WELCOME_BOT_LEFT=queue).
    expect(sim.chat(112)).toMatchObject({ botIds: [8], userIds: [12], ownerId: 12 });
    expect(sim.ledger).toMatchObject([{ botId: 8, leave: true }]);
  });

  it("once answered, LEAVE=Y removes the sending bot and LEAVE=N keeps it; every other person is removed either way", async () => {
    const answered = () =>
      withChats((chats) => chats.map((chat) => (chat.id === 121 ? { ...chat, botIds: [8] } : chat)));
    const sim = await start(answered());
    expect(
      (await call(sim, TRANSFER, { CHAT_ID: 121, USER_ID: 14, LEAVE: "Y", CLIENT_ID: "other-bot-client" }))
        .status,
    ).toBe(200);
    expect(sim.chat(121)).toMatchObject({ botIds: [], userIds: [14], ownerId: 14 });

    const keep = await start(answered());
    expect(
      (await call(keep, TRANSFER, { CHAT_ID: 121, USER_ID: 14, LEAVE: "N", CLIENT_ID: "other-bot-client" }))
        .status,
    ).toBe(200);
    expect(keep.chat(121)).toMatchObject({ botIds: [8], userIds: [14], ownerId: 14 });
  });

  it("with WELCOME_BOT_LEFT=close the welcome bot stays through LEAVE=Y and Chat::answer", async () => {
    const sim = await start(withLine(3, { welcomeBot: { id: DEMO_BOT.id, left: "close" } }));
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12, LEAVE: "Y" })).status).toBe(200);
    expect(sim.chat(112)).toMatchObject({ botIds: [7], userIds: [12], ownerId: 12 });
  });

  it("with WELCOME_BOT_LEFT=close, session.operator keeps the bot in the chat (endBotSession)", async () => {
    const sim = await start(withLine(3, { welcomeBot: { id: DEMO_BOT.id, left: "close" } }));
    expect((await call(sim, OPERATOR, { CHAT_ID: 112 })).status).toBe(200);
    expect(sim.ledger).toMatchObject([{ method: OPERATOR, leave: false, botId: 7 }]);
    expect(sim.chat(112)).toMatchObject({ stage: "queue", botIds: [7], ownerId: 0 });
  });
});

describe("imopenlines.config.get (rest.php configGet → Config::get)", () => {
  it("answers the line's row with ACTIVE, the welcome bot settings and the active operators", async () => {
    const sim = await start(withLine(4, { queue: [12, 13, 14] }));
    const reply = await call(sim, CONFIG_GET, { CONFIG_ID: 4 });
    expect(reply.status).toBe(200);
    expect(reply.body.result).toEqual({
      ID: "4",
      ACTIVE: "Y",
      LINE_NAME: "Sales",
      QUEUE_TYPE: "all",
      WELCOME_BOT_ENABLE: "Y",
      WELCOME_BOT_ID: "7",
      WELCOME_BOT_JOIN: "first",
      WELCOME_BOT_LEFT: "queue",
      WELCOME_MESSAGE: "N",
      WELCOME_MESSAGE_TEXT: "",
      // `=USER.ACTIVE => 'Y'`: the inactive operator 13 is not listed.
      QUEUE: ["12", "14"],
    });
  });

  it("an inactive line answers ACTIVE N; WITH_QUEUE=N leaves QUEUE empty; an unknown line answers false", async () => {
    const sim = await start();
    expect((await call(sim, CONFIG_GET, { CONFIG_ID: "5" })).body.result).toMatchObject({
      ID: "5",
      ACTIVE: "N",
    });
    expect((await call(sim, CONFIG_GET, { CONFIG_ID: 3, WITH_QUEUE: "N" })).body.result).toMatchObject({
      QUEUE: [],
    });
    expect(await call(sim, CONFIG_GET, { CONFIG_ID: 99 })).toMatchObject({
      status: 200,
      body: { result: false },
    });
  });

  it("CONFIG_ID missing, 0 or in lower case → 400 CONFIG_ID_EMPTY", async () => {
    const sim = await start();
    for (const params of [{}, { CONFIG_ID: 0 }, { config_id: 3 }]) {
      expect(await call(sim, CONFIG_GET, params)).toEqual({
        status: 400,
        body: { error: "CONFIG_ID_EMPTY", error_description: "Config ID can't be empty" },
      });
    }
  });
});
