import { afterEach, describe, expect, it } from "vitest";
import {
  DEMO_APP,
  DEMO_APP_BOT,
  DEMO_BOT,
  demoPortal,
  type Fault,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../scripts/simulator/index.ts";

const TRANSFER = "imopenlines.bot.session.transfer";
const CONFIG_LIST = "imopenlines.config.list.get";
const OPERATOR = "imopenlines.bot.session.operator";
const MESSAGE_SEND = "imopenlines.bot.session.message.send";
/** A batch command prefix for a transfer through the demo bot. */
const TRANSFER_Q = `${TRANSFER}?CLIENT_ID=${DEMO_BOT.clientId}&`;

const running: Simulator[] = [];

async function start(options?: SimulatorOptions): Promise<Simulator> {
  const simulator = await startSimulator(options);
  running.push(simulator);
  return simulator;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

/** A clock the test moves by hand. */
function manualClock(startMs = Date.UTC(2025, 0, 1)) {
  const clock = { ms: startMs, now: () => clock.ms };
  return clock;
}

interface Reply {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
}

async function request(url: string, init?: RequestInit): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text, json };
}

/**
 * POSTs JSON to a method through a webhook. Transfers go through the demo bot: CLIENT_ID is added
 * unless the params name one (send `CLIENT_ID: undefined` to leave it out).
 */
function call(
  simulator: Simulator,
  method: string,
  params: Record<string, unknown> = {},
  webhook?: { userId: number; code: string },
): Promise<Reply> {
  const body =
    method.toLowerCase().startsWith(TRANSFER) && !("CLIENT_ID" in params)
      ? { CLIENT_ID: DEMO_BOT.clientId, ...params }
      : params;
  return request(`${simulator.webhookUrl(webhook)}${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function errorBody(code: string) {
  return { error: code, error_description: expect.any(String) };
}

const TIME_BLOCK = {
  start: expect.any(Number),
  finish: expect.any(Number),
  duration: expect.any(Number),
  processing: expect.any(Number),
  date_start: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/),
  date_finish: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/),
  operating: 0,
};

interface BatchAnswer {
  result: {
    result: unknown;
    result_error: unknown;
    result_total: unknown;
    result_next: unknown;
    result_time: unknown;
  };
  time: unknown;
}

function batchOf(reply: Reply): BatchAnswer["result"] {
  expect(reply.status).toBe(200);
  return (reply.json as BatchAnswer).result;
}

/** Chat 112 as seeded: its welcome bot 7 holds the dialogue (session 1120) on line 3, no owner. */
const FRESH_112 = {
  id: 112,
  lineId: 3,
  stage: "bot",
  sessionId: 1120,
  ownerId: 0,
  sessionOperatorId: 7,
  botIds: [7],
  userIds: [],
};

describe("imopenlines.bot.session.transfer", () => {
  it("transfers to an operator, answers result true with a time block and records it", async () => {
    const sim = await start();
    const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12, LEAVE: "N" });

    expect(reply.status).toBe(200);
    expect(reply.contentType).toContain("application/json");
    expect(reply.json).toEqual({ result: true, time: expect.objectContaining(TIME_BLOCK) });
    expect(sim.ledger).toEqual([
      {
        seq: 1,
        method: TRANSFER,
        chatId: 112,
        to: { userId: 12 },
        leave: false,
        botId: 7,
        sessionId: 1120,
        reopened: false,
        at: expect.any(Number),
      },
    ]);
    // chat.php transferToOperator (TRANSFER_MODE_BOT) calls Chat::answer for the target at once: 12 owns
    // and holds the session, and the line's welcome bot 7 leaves although LEAVE was N (WELCOME_BOT_LEFT=queue).
    expect(sim.chat(112)).toEqual({
      ...FRESH_112,
      stage: "answered",
      ownerId: 12,
      sessionOperatorId: 12,
      botIds: [],
      userIds: [12],
    });
  });

  it("a queue transfer (chat.php transferToQueue) removes every member but the sending bot, owner 0, waits in the target line's queue", async () => {
    const seed = demoPortal();
    const chats = seed.chats.map((chat) =>
      chat.id === 112 ? { ...chat, botIds: [7, 8], operatorId: 14 } : chat,
    );
    const sim = await start({ portal: { ...seed, chats } });
    expect(sim.chat(112)).toMatchObject({ stage: "answered", ownerId: 14, botIds: [7, 8], userIds: [14] });
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, QUEUE_ID: 4 })).status).toBe(200);
    expect(sim.chat(112)).toEqual({
      ...FRESH_112,
      lineId: 4,
      stage: "queue",
      sessionOperatorId: 0,
      botIds: [7],
    });

    // Not idempotent: the same call again runs again (the ledger counts two executions).
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, QUEUE_ID: 4 })).status).toBe(200);
    expect(sim.ledger.map((record) => record.seq)).toEqual([1, 2]);
  });

  it("LEAVE is rest.php's loose `== 'Y'`: Y and JSON true count, y, Yes, 1 and false do not", async () => {
    const sim = await start();
    const leaves: Array<[unknown, boolean]> = [
      ["Y", true],
      [true, true],
      ["y", false],
      ["Yes", false],
      [1, false],
      [false, false],
      ["N", false],
    ];
    for (const [index, [leave]] of leaves.entries()) {
      expect((await call(sim, TRANSFER, { CHAT_ID: 112 + index, QUEUE_ID: 3, LEAVE: leave })).status).toBe(
        200,
      );
    }
    expect(sim.ledger.map((record) => record.leave)).toEqual(leaves.map(([, meant]) => meant));
  });

  it("transferToQueue never reads LEAVE: the sending bot stays in the chat with LEAVE=Y", async () => {
    const sim = await start();
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, QUEUE_ID: 4, LEAVE: "Y" })).status).toBe(200);
    expect(sim.chat(112)).toMatchObject({ stage: "queue", lineId: 4, botIds: [7] });
  });

  it("parameter names are case-sensitive, except CLIENT_ID", async () => {
    const sim = await start();
    const lower = await call(sim, TRANSFER, { chat_id: 112, user_id: 12 });
    expect(lower.json).toEqual(errorBody("CHAT_ID_EMPTY"));
    const noTarget = await call(sim, TRANSFER, { CHAT_ID: 112, user_id: 12 });
    expect(noTarget.json).toEqual(errorBody("TRANSFER_ID_EMPTY"));
    const clientLower = await call(sim, TRANSFER, {
      CHAT_ID: 112,
      USER_ID: 12,
      CLIENT_ID: undefined,
      client_id: DEMO_BOT.clientId,
    });
    expect(clientLower.status).toBe(200);
    expect(sim.ledger).toHaveLength(1);
  });

  it("accepts numeric strings, .json, query strings, form and multipart bodies", async () => {
    const sim = await start();
    const base = sim.webhookUrl();
    const client = `CLIENT_ID=${DEMO_BOT.clientId}`;

    expect((await call(sim, `${TRANSFER}.json`, { CHAT_ID: "113", USER_ID: "12" })).status).toBe(200);
    expect((await request(`${base}${TRANSFER}?CHAT_ID=114&USER_ID=14&${client}`)).status).toBe(200);
    const form = await request(`${base}${TRANSFER}`, {
      method: "POST",
      body: new URLSearchParams({
        CHAT_ID: "115",
        TRANSFER_ID: "queue3",
        LEAVE: "Y",
        CLIENT_ID: DEMO_BOT.clientId,
      }),
    });
    expect(form.status).toBe(200);
    const multipart = new FormData();
    multipart.set("CHAT_ID", "116");
    multipart.set("USER_ID", "12");
    multipart.set("CLIENT_ID", DEMO_BOT.clientId);
    expect(
      (await request(`${base}${TRANSFER.toUpperCase()}`, { method: "POST", body: multipart })).status,
    ).toBe(200);

    expect(sim.ledger.map(({ chatId, to, leave }) => ({ chatId, to, leave }))).toEqual([
      { chatId: 113, to: { userId: 12 }, leave: false },
      { chatId: 114, to: { userId: 14 }, leave: false },
      { chatId: 115, to: { queueId: 3 }, leave: true },
      { chatId: 116, to: { userId: 12 }, leave: false },
    ]);
  });

  it.each([
    [{ USER_ID: 12, QUEUE_ID: 4, TRANSFER_ID: "queue3" }, { userId: 12 }],
    [{ QUEUE_ID: "4", TRANSFER_ID: "14" }, { userId: 14 }],
    [{ USER_ID: 14, QUEUE_ID: 4 }, { userId: 14 }],
    [{ TRANSFER_ID: "queue4" }, { queueId: 4 }],
    [{ TRANSFER_ID: 14 }, { userId: 14 }],
  ])(
    "TRANSFER_ID overwrites USER_ID/QUEUE_ID, then USER_ID > QUEUE_ID: %j",
    async (destination, expected) => {
      const sim = await start();
      const reply = await call(sim, TRANSFER, { CHAT_ID: 112, ...destination });
      expect(reply.status).toBe(200);
      expect(sim.ledger.map((record) => record.to)).toEqual([expected]);
    },
  );

  it.each([
    ["CHAT_ID missing", { USER_ID: 12 }, 400, "CHAT_ID_EMPTY"],
    ["CHAT_ID 0", { CHAT_ID: 0, USER_ID: 12 }, 400, "CHAT_ID_EMPTY"],
    ["CHAT_ID not a number", { CHAT_ID: "abc", USER_ID: 12 }, 400, "CHAT_ID_EMPTY"],
    ["USER_ID empty, even with a QUEUE_ID", { CHAT_ID: 112, USER_ID: "", QUEUE_ID: 3 }, 400, "USER_ID_EMPTY"],
    ["USER_ID 0", { CHAT_ID: 112, USER_ID: 0 }, 400, "USER_ID_EMPTY"],
    ["QUEUE_ID negative", { CHAT_ID: 112, QUEUE_ID: -1 }, 400, "QUEUE_ID_EMPTY"],
    ["no destination", { CHAT_ID: 112 }, 400, "TRANSFER_ID_EMPTY"],
    ["TRANSFER_ID that is neither", { CHAT_ID: 112, TRANSFER_ID: "somebody" }, 400, "USER_ID_EMPTY"],
    [
      "no CLIENT_ID from a webhook",
      { CHAT_ID: 112, USER_ID: 12, CLIENT_ID: undefined },
      403,
      "ACCESS_DENIED",
    ],
    [
      "a CLIENT_ID no bot was registered with",
      { CHAT_ID: 112, USER_ID: 12, CLIENT_ID: "nope" },
      400,
      "BOT_ID_ERROR",
    ],
    [
      "BOT_ID instead of CLIENT_ID",
      { CHAT_ID: 112, USER_ID: 12, CLIENT_ID: undefined, BOT_ID: 7 },
      403,
      "ACCESS_DENIED",
    ],
    ["unknown chat", { CHAT_ID: 999, USER_ID: 12 }, 400, "OPERATOR_WRONG"],
    ["unknown user", { CHAT_ID: 112, USER_ID: 999 }, 400, "OPERATOR_WRONG"],
    ["inactive operator", { CHAT_ID: 112, USER_ID: 13 }, 400, "OPERATOR_WRONG"],
    ["target is a bot", { CHAT_ID: 112, USER_ID: 7 }, 400, "OPERATOR_WRONG"],
    ["target is an extranet user", { CHAT_ID: 112, USER_ID: 20 }, 400, "OPERATOR_WRONG"],
    ["target is a connector", { CHAT_ID: 112, USER_ID: 30 }, 400, "OPERATOR_WRONG"],
    ["unknown queue", { CHAT_ID: 112, QUEUE_ID: 99 }, 400, "OPERATOR_WRONG"],
  ])("%s → %i %s, nothing transferred", async (_name, params, status, code) => {
    const sim = await start();
    const reply = await call(sim, TRANSFER, params);
    expect(reply.status).toBe(status);
    expect(reply.json).toEqual(errorBody(code));
    expect(sim.ledger).toEqual([]);
    expect(sim.chat(112)).toEqual(FRESH_112);
    expect(sim.hits).toEqual([{ method: TRANSFER, status, error: code, at: expect.any(Number) }]);
  });

  it("ACCESS_DENIED and BOT_ID_ERROR carry the module's texts", async () => {
    const sim = await start();
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12, CLIENT_ID: undefined })).json).toEqual({
      error: "ACCESS_DENIED",
      error_description: "Access denied! Client ID not specified.",
    });
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12, CLIENT_ID: "x" })).json).toEqual({
      error: "BOT_ID_ERROR",
      error_description: "Bot not found",
    });
    expect((await call(sim, TRANSFER, { CHAT_ID: 999, USER_ID: 12 })).json).toEqual({
      error: "OPERATOR_WRONG",
      error_description: "You can not redirect to this operator",
    });
  });

  it("acts through the FIRST bot registered with the CLIENT_ID, whether or not it is in the chat", async () => {
    const seed = demoPortal();
    const bots = [...seed.bots, { id: 10, appId: DEMO_BOT.appId, code: "duplicate" }];
    const sim = await start({ portal: { ...seed, bots } });
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).status).toBe(200);
    // Bot 8 is not in chat 121; the module does not check.
    expect(
      (await call(sim, TRANSFER, { CHAT_ID: 121, USER_ID: 14, CLIENT_ID: "other-bot-client" })).status,
    ).toBe(200);
    expect(sim.ledger.map((record) => record.botId)).toEqual([7, 8]);
  });

  it("an OAuth application acts through its own first bot; CLIENT_ID and BOT_ID are ignored", async () => {
    const sim = await start();
    const grant = sim.installApp();
    const viaApp = (params: Record<string, unknown>) =>
      request(`${sim.url}/rest/${TRANSFER}.json`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...params, auth: grant.access_token }),
      });
    expect(
      (await viaApp({ CHAT_ID: 112, USER_ID: 12, CLIENT_ID: "other-bot-client", BOT_ID: 7 })).status,
    ).toBe(200);
    expect(sim.ledger).toMatchObject([{ chatId: 112, botId: DEMO_APP_BOT.id }]);

    const bots = demoPortal().bots.filter((bot) => bot.appId !== DEMO_APP.clientId);
    const botless = await start({ portal: { ...demoPortal(), bots } });
    const token = botless.installApp().access_token;
    const reply = await request(`${botless.url}/rest/${TRANSFER}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CHAT_ID: 112, USER_ID: 12, auth: token }),
    });
    expect([reply.status, reply.json]).toEqual([400, errorBody("BOT_ID_ERROR")]);
  });

  it("a held distribution lock answers OPERATOR_WRONG without executing, for as many attempts as scripted", async () => {
    const sim = await start();
    sim.holdLock(112, { times: 2 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
      expect([reply.status, reply.json]).toEqual([400, errorBody("OPERATOR_WRONG")]);
    }
    expect(sim.ledger).toEqual([]);
    expect(sim.chat(112)).toEqual(FRESH_112);
    // Another chat is not locked, and the lock is gone after its two attempts.
    expect((await call(sim, TRANSFER, { CHAT_ID: 113, USER_ID: 12 })).status).toBe(200);
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).status).toBe(200);
    expect(sim.ledger.map((record) => record.chatId)).toEqual([113, 112]);
    expect(() => sim.holdLock(112, { times: 0 })).toThrow(RangeError);
  });

  it("onTransfer reports each transfer as it happens, until unsubscribed", async () => {
    const sim = await start();
    const seen: number[] = [];
    const unsubscribe = sim.onTransfer((record) => seen.push(record.chatId));
    sim.onTransfer(() => {
      throw new Error("a broken listener must not break the portal");
    });
    await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    await call(sim, "batch", {
      cmd: [`${TRANSFER_Q}CHAT_ID=113&USER_ID=12`, `${TRANSFER_Q}CHAT_ID=999&USER_ID=12`],
    });
    unsubscribe();
    expect((await call(sim, TRANSFER, { CHAT_ID: 114, USER_ID: 12 })).status).toBe(200);
    expect(seen).toEqual([112, 113]);
    expect(sim.ledger).toHaveLength(3);
  });
});

describe("imopenlines.bot.session.operator and message.send", () => {
  it("session.operator hands the chat to its own line's queue once; a repeat is WRONG_CHAT", async () => {
    const sim = await start();
    const first = await call(sim, OPERATOR, { chat_id: 113 });
    expect(first.json).toEqual({ result: true, time: expect.objectContaining(TIME_BLOCK) });
    // chat.php endBotSession: the session's bot leaves (WELCOME_BOT_LEFT=queue), the line's queue takes over.
    expect(sim.chat(113)).toMatchObject({ lineId: 4, stage: "queue", ownerId: 0, botIds: [], userIds: [] });
    expect(sim.ledger).toEqual([
      {
        seq: 1,
        method: OPERATOR,
        chatId: 113,
        to: { queueId: 4 },
        leave: true,
        botId: 7,
        sessionId: 1130,
        reopened: false,
        at: expect.any(Number),
      },
    ]);

    const again = await call(sim, OPERATOR, { CHAT_ID: 113 });
    expect([again.status, again.json]).toEqual([
      400,
      { error: "WRONG_CHAT", error_description: "Operator is not a bot" },
    ]);
    expect(sim.ledger).toHaveLength(1);
  });

  it.each([
    ["no CHAT_ID", {}, "CHAT_ID_EMPTY"],
    ["an unknown chat", { CHAT_ID: 999 }, "WRONG_CHAT"],
    ["a chat already with an operator", { CHAT_ID: 121 }, "WRONG_CHAT"],
  ])("session.operator with %s → 400 %s", async (_name, params, code) => {
    const sim = await start();
    const reply = await call(sim, OPERATOR, params);
    expect([reply.status, reply.json]).toEqual([400, errorBody(code)]);
    expect(sim.ledger).toEqual([]);
  });

  it("message.send records what it wrote, in order with the hand-over that follows", async () => {
    const sim = await start();
    const sent = await call(sim, MESSAGE_SEND, {
      CHAT_ID: 112,
      MESSAGE: "Connecting you…",
      NAME: "DEFAULT",
    });
    expect(sent.json).toEqual({ result: true, time: expect.objectContaining(TIME_BLOCK) });
    await call(sim, TRANSFER, { CHAT_ID: 112, QUEUE_ID: 3 });
    await call(sim, "batch", {
      cmd: { m: `${MESSAGE_SEND}?CHAT_ID=113&MESSAGE=bye&NAME=DEFAULT`, o: `${OPERATOR}?CHAT_ID=113` },
    });
    expect(sim.messages).toEqual([
      { seq: 1, chatId: 112, name: "DEFAULT", message: "Connecting you…", at: expect.any(Number) },
      { seq: 3, chatId: 113, name: "DEFAULT", message: "bye", at: expect.any(Number) },
    ]);
    expect(sim.ledger.map(({ seq, method, chatId }) => ({ seq, method, chatId }))).toEqual([
      { seq: 2, method: TRANSFER, chatId: 112 },
      { seq: 4, method: OPERATOR, chatId: 113 },
    ]);
  });

  it("message.send: CHAT_ID_EMPTY without a chat", async () => {
    const sim = await start();
    expect((await call(sim, MESSAGE_SEND, { MESSAGE: "hi" })).json).toEqual(errorBody("CHAT_ID_EMPTY"));
    expect(sim.messages).toEqual([]);
  });

  // chat.php sendAutoMessage: `!$type` writes nothing; `== 'WELCOME'` the line's greeting;
  // `== 'DEFAULT'` MESSAGE unless empty; anything else nothing. rest.php answers true regardless.
  it.each([
    ["no NAME", { CHAT_ID: 112, MESSAGE: "hi" }, []],
    ["an empty NAME", { CHAT_ID: 112, MESSAGE: "hi", NAME: "" }, []],
    ["NAME=DEFAULT with an empty MESSAGE", { CHAT_ID: 112, MESSAGE: "", NAME: "DEFAULT" }, []],
    ["NAME=DEFAULT without MESSAGE", { CHAT_ID: 112, NAME: "DEFAULT" }, []],
    ["another NAME", { CHAT_ID: 112, MESSAGE: "hi", NAME: "Support bot" }, []],
    ["a lower-case name (a strict string comparison)", { CHAT_ID: 112, MESSAGE: "hi", NAME: "default" }, []],
    ["an unknown chat", { CHAT_ID: 999, MESSAGE: "hi", NAME: "DEFAULT" }, []],
    ["NAME=DEFAULT, lower-case keys", { chat_id: 112, message: "hi", name: "DEFAULT" }, [["DEFAULT", "hi"]]],
    [
      "NAME=WELCOME: the line's greeting, not MESSAGE",
      { CHAT_ID: 112, MESSAGE: "ignored", NAME: "WELCOME" },
      [["WELCOME", "Hello! An operator will answer you shortly."]],
    ],
    ["NAME=WELCOME on a line without a greeting", { CHAT_ID: 113, NAME: "WELCOME" }, []],
    [
      "JSON true as NAME (true == 'WELCOME' in PHP)",
      { CHAT_ID: 112, NAME: true },
      [["WELCOME", "Hello! An operator will answer you shortly."]],
    ],
  ])(
    "message.send with %s answers true and writes only what the module writes",
    async (_n, params, written) => {
      const sim = await start();
      const reply = await call(sim, MESSAGE_SEND, params);
      expect(reply.json).toEqual({ result: true, time: expect.objectContaining(TIME_BLOCK) });
      expect(sim.messages.map(({ name, message }) => [name, message])).toEqual(written);
    },
  );
});

describe("authentication and scopes", () => {
  it("an unknown webhook code or a wrong user id → 401 INVALID_CREDENTIALS, nothing executed", async () => {
    const sim = await start();
    for (const webhook of [
      { userId: 1, code: "wrong0code" },
      { userId: 2, code: "demo0webhook0code" },
    ]) {
      const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 }, webhook);
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual({
        error: "INVALID_CREDENTIALS",
        error_description: "Invalid request credentials",
      });
    }
    expect(sim.ledger).toEqual([]);
  });

  it("a revoked webhook stops working at once; an added one works", async () => {
    const sim = await start();
    expect((await call(sim, "scope")).status).toBe(200);
    sim.revokeWebhook("demo0webhook0code");
    expect((await call(sim, "scope")).json).toEqual(errorBody("INVALID_CREDENTIALS"));

    sim.addWebhook({ userId: 5, code: "second0code", scopes: ["imopenlines", "imbot"] });
    const reply = await call(
      sim,
      TRANSFER,
      { CHAT_ID: 112, USER_ID: 12 },
      { userId: 5, code: "second0code" },
    );
    expect(reply.status).toBe(200);
  });

  it("no credentials → 401 NO_AUTH_FOUND; an OAuth token → 401 invalid_token", async () => {
    const sim = await start();
    const bare = await request(`${sim.url}/rest/scope.json`, { method: "POST" });
    expect(bare.status).toBe(401);
    expect(bare.json).toEqual(errorBody("NO_AUTH_FOUND"));

    const token = await request(`${sim.url}/rest/${TRANSFER}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CHAT_ID: 112, USER_ID: 12, auth: "some-token" }),
    });
    expect(token.status).toBe(401);
    expect(token.json).toEqual(errorBody("invalid_token"));
  });

  it("the bot session methods need only imopenlines: without it 401 insufficient_scope", async () => {
    const sim = await start();
    sim.addWebhook({ userId: 1, code: "im0only", scopes: ["im", "imbot"] });
    sim.addWebhook({ userId: 1, code: "no0imbot", scopes: ["imopenlines"] });
    const imOnly = { userId: 1, code: "im0only" };

    // imopenlines alone is enough (Rest::onRestServiceBuildDescription registers them only there).
    const noImbot = { userId: 1, code: "no0imbot" };
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 }, noImbot)).status).toBe(200);
    expect((await call(sim, MESSAGE_SEND, { CHAT_ID: 113, MESSAGE: "hi" }, noImbot)).status).toBe(200);
    expect((await call(sim, OPERATOR, { CHAT_ID: 113 }, noImbot)).status).toBe(200);
    sim.reset();

    for (const [method, webhook] of [
      [TRANSFER, imOnly],
      [OPERATOR, imOnly],
      [MESSAGE_SEND, imOnly],
      [CONFIG_LIST, imOnly],
      ["imopenlines.dialog.get", imOnly],
      ["imopenlines.config.get", imOnly],
    ] as const) {
      const reply = await call(sim, method, { CHAT_ID: 112, USER_ID: 12 }, webhook);
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual(errorBody("insufficient_scope"));
    }
    expect(sim.ledger).toEqual([]);
    expect((await call(sim, "scope", {}, imOnly)).json).toMatchObject({ result: ["im", "imbot"] });
  });

  it("an unknown method → 404 ERROR_METHOD_NOT_FOUND; a path outside /rest → 404 page", async () => {
    const sim = await start();
    const reply = await call(sim, "imopenlines.bot.session.teleport");
    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({ error: "ERROR_METHOD_NOT_FOUND", error_description: "Method not found!" });

    const outside = await request(`${sim.url}/index.php`);
    expect(outside.status).toBe(404);
    expect(outside.contentType).toContain("text/html");
  });
});

describe("scope and imopenlines.config.list.get", () => {
  it("scope lists the webhook's scopes; full=true all of them", async () => {
    const sim = await start();
    expect((await call(sim, "scope")).json).toEqual({
      result: ["imopenlines", "imbot", "im"],
      time: expect.objectContaining(TIME_BLOCK),
    });
    const full = (await call(sim, "scope", { full: true })).json as { result: string[] };
    expect(full.result).toEqual(expect.arrayContaining(["crm", "imopenlines", "imbot", "user"]));
  });

  it("lists open lines as strings, QUEUE only with OPTIONS.QUEUE=Y, with filter and order", async () => {
    const sim = await start();
    const plain = await call(sim, CONFIG_LIST);
    expect(plain.json).toEqual({
      result: [
        { ID: "3", ACTIVE: "Y", LINE_NAME: "Support", QUEUE_TYPE: "all" },
        { ID: "4", ACTIVE: "Y", LINE_NAME: "Sales", QUEUE_TYPE: "all" },
        { ID: "5", ACTIVE: "N", LINE_NAME: "Archive", QUEUE_TYPE: "all" },
        { ID: "6", ACTIVE: "Y", LINE_NAME: "Partners", QUEUE_TYPE: "all" },
      ],
      total: 4,
      time: expect.objectContaining(TIME_BLOCK),
    });

    const filtered = await call(sim, CONFIG_LIST, {
      PARAMS: { select: ["ID", "QUEUE"], filter: { ACTIVE: "Y" }, order: { ID: "DESC" } },
      OPTIONS: { QUEUE: "Y" },
    });
    expect(filtered.json).toMatchObject({
      result: [
        { ID: "6", QUEUE: ["14"] },
        { ID: "4", QUEUE: ["12", "14"] },
        { ID: "3", QUEUE: ["12"] },
      ],
      total: 3,
    });
  });
});

describe("rate limit (leaky bucket per portal and source IP)", () => {
  it("lets the burst through, refuses the next with 503 QUERY_LIMIT_EXCEEDED, drains over time", async () => {
    const clock = manualClock();
    const sim = await start({ rateLimit: { burst: 3, drainPerSecond: 1 }, now: clock.now });
    const transfer = () => call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });

    for (let i = 0; i < 3; i++) expect((await transfer()).status).toBe(200);
    const refused = await transfer();
    expect(refused.status).toBe(503);
    expect(refused.json).toEqual({ error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" });
    expect(sim.ledger).toHaveLength(3);

    clock.ms += 1000;
    expect((await transfer()).status).toBe(200);
    expect((await transfer()).status).toBe(503);
    expect(sim.ledger).toHaveLength(4);
    expect(sim.hits.map((hit) => hit.status)).toEqual([200, 200, 200, 503, 200, 503]);
  });

  it("a refused request adds nothing, so one drained slot is enough to get through", async () => {
    const clock = manualClock();
    const sim = await start({ rateLimit: { burst: 1, drainPerSecond: 1 }, now: clock.now });
    expect((await call(sim, "scope")).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await call(sim, "scope")).status).toBe(503);
    clock.ms += 1000;
    expect((await call(sim, "scope")).status).toBe(200);
  });

  it("shares one bucket between every webhook calling from one address (limits.md), not one per webhook", async () => {
    const clock = manualClock();
    const sim = await start({ rateLimit: { burst: 1, drainPerSecond: 1 }, now: clock.now });
    sim.addWebhook({ userId: 1, code: "other0code", scopes: ["imopenlines", "imbot"] });
    expect((await call(sim, "scope")).status).toBe(200);
    expect((await call(sim, "scope", {}, { userId: 1, code: "other0code" })).status).toBe(503);
    clock.ms += 1000;
    expect((await call(sim, "scope", {}, { userId: 1, code: "other0code" })).status).toBe(200);
    expect((await call(sim, "scope")).status).toBe(503);
  });

  it("defaults to the cloud limit: 50 at once, the 51st refused", async () => {
    const sim = await start({ now: manualClock().now });
    for (let i = 0; i < 50; i++) expect((await call(sim, "scope")).status).toBe(200);
    expect((await call(sim, "scope")).status).toBe(503);
  });

  it("rateLimit: false never refuses", async () => {
    const sim = await start({ rateLimit: false, now: manualClock().now });
    const statuses = await Promise.all(Array.from({ length: 60 }, () => call(sim, "scope")));
    expect(statuses.every((reply) => reply.status === 200)).toBe(true);
  });
});

describe("faults", () => {
  it("latency delays, then answers normally", async () => {
    const sim = await start();
    sim.injectFault({ kind: "latency", ms: 120 });
    const began = performance.now();
    const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect(performance.now() - began).toBeGreaterThanOrEqual(110);
    expect(reply.json).toMatchObject({ result: true });
    expect(sim.ledger).toHaveLength(1);
    expect(sim.hits[0]).toMatchObject({ status: 200, fault: "latency" });
  });

  it.each([
    [503, "QUERY_LIMIT_EXCEEDED", "Too many requests"],
    [429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit"],
    [500, "ERROR_UNEXPECTED_ANSWER", undefined],
  ])("error %i %s answers the envelope once, without executing", async (status, error, description) => {
    const sim = await start();
    sim.injectFault(
      description === undefined
        ? { kind: "error", status, error }
        : { kind: "error", status, error, description },
    );
    const faulted = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect(faulted.status).toBe(status);
    expect(faulted.json).toEqual({ error, error_description: description ?? "" });
    expect(sim.ledger).toEqual([]);

    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).status).toBe(200);
    expect(sim.hits.map((hit) => [hit.status, hit.error, hit.fault])).toEqual([
      [status, error, "error"],
      [200, undefined, undefined],
    ]);
  });

  it("reset destroys the connection without an answer", async () => {
    const sim = await start();
    sim.injectFault({ kind: "reset" });
    await expect(call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).rejects.toThrow();
    expect(sim.ledger).toEqual([]);
    expect(sim.hits).toEqual([{ method: TRANSFER, status: 0, fault: "reset", at: expect.any(Number) }]);
    expect((await call(sim, "scope")).status).toBe(200);
  });

  it("hang never answers; close() ends hung connections", async () => {
    const sim = await start();
    sim.injectFault({ kind: "hang" }, { times: 2 });
    await expect(
      fetch(`${sim.webhookUrl()}scope`, { method: "POST", signal: AbortSignal.timeout(150) }),
    ).rejects.toThrow();

    const pending = fetch(`${sim.webhookUrl()}scope`, { method: "POST" });
    const settled = pending.then(
      () => "answered",
      () => "failed",
    );
    while (sim.hits.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await sim.close();
    expect(await settled).toBe("failed");
  });

  it("malformed is a 200 with truncated JSON", async () => {
    const sim = await start();
    sim.injectFault({ kind: "malformed" });
    const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/^\{"result":/);
    expect(reply.json).toBeUndefined();
    expect(sim.ledger).toEqual([]);
  });

  it("html is a proxy's error page, 502 by default", async () => {
    const sim = await start();
    sim.injectFault({ kind: "html" });
    sim.injectFault({ kind: "html", status: 504 });
    const first = await call(sim, "scope");
    expect(first.status).toBe(502);
    expect(first.contentType).toContain("text/html");
    expect(first.text).toContain("502 Bad Gateway");
    const second = await call(sim, "scope");
    expect(second.status).toBe(504);
    expect(second.text).toContain("504 Gateway Timeout");
  });

  it("empty is a 200 with no body; result-false a 200 with result false", async () => {
    const sim = await start();
    sim.injectFault({ kind: "empty" });
    sim.injectFault({ kind: "result-false" });
    const empty = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect([empty.status, empty.text]).toEqual([200, ""]);
    const resultFalse = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect(resultFalse.status).toBe(200);
    expect(resultFalse.json).toEqual({ result: false, time: expect.objectContaining(TIME_BLOCK) });
    expect(sim.ledger).toEqual([]);
  });

  it("times, method filters and clearFaults", async () => {
    const sim = await start();
    const busy: Fault = { kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" };
    sim.injectFault(busy, { times: 2, method: "SCOPE.json" });
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).status).toBe(200);
    expect((await call(sim, "scope")).status).toBe(503);
    expect((await call(sim, "scope")).status).toBe(503);
    expect((await call(sim, "scope")).status).toBe(200);

    sim.injectFault(busy, { times: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 3; i++) expect((await call(sim, "scope")).status).toBe(503);
    sim.clearFaults();
    expect((await call(sim, "scope")).status).toBe(200);

    expect(() => sim.injectFault(busy, { times: 0 })).toThrow(RangeError);
    expect(() => sim.injectFault({ kind: "latency", ms: -1 })).toThrow(RangeError);
  });
});

describe("batch", () => {
  it("runs the commands in order against the same portal: one result and one ledger entry each", async () => {
    const sim = await start();
    const batch = batchOf(
      await call(sim, "batch", {
        halt: 0,
        cmd: {
          first: `${TRANSFER_Q}CHAT_ID=112&USER_ID=12`,
          second: `${TRANSFER_Q}CHAT_ID=113&TRANSFER_ID=queue3&LEAVE=Y`,
        },
      }),
    );
    expect(batch).toEqual({
      result: { first: true, second: true },
      result_error: [],
      result_total: [],
      result_next: [],
      result_time: {
        first: expect.objectContaining({ start: expect.any(Number) }),
        second: expect.any(Object),
      },
    });
    expect(sim.ledger.map(({ chatId, to, leave }) => ({ chatId, to, leave }))).toEqual([
      { chatId: 112, to: { userId: 12 }, leave: false },
      { chatId: 113, to: { queueId: 3 }, leave: true },
    ]);
    expect(sim.hits).toEqual([{ method: "batch", status: 200, at: expect.any(Number) }]);
  });

  it("reports each failing command under its key and keeps going without halt", async () => {
    const sim = await start();
    const batch = batchOf(
      await call(sim, "batch", {
        cmd: {
          ok: `${TRANSFER_Q}CHAT_ID=114&USER_ID=12`,
          bad: `${TRANSFER_Q}CHAT_ID=999&USER_ID=12`,
          nested: "batch?cmd[x]=scope",
          unknown: "no.such.method",
          also: "scope",
        },
      }),
    );
    expect(batch.result).toEqual({ ok: true, also: ["imopenlines", "imbot", "im"] });
    expect(batch.result_error).toEqual({
      bad: errorBody("OPERATOR_WRONG"),
      nested: errorBody("ERROR_BATCH_METHOD_NOT_ALLOWED"),
      unknown: errorBody("ERROR_METHOD_NOT_FOUND"),
    });
    expect(sim.ledger).toHaveLength(1);
  });

  // rest/classes/general/rest_provider.php methodsBatch (issue 24, item 3).
  it("reads HALT and CMD in any case, as array_change_key_case does", async () => {
    const sim = await start();
    const batch = batchOf(
      await call(sim, "batch", {
        HALT: 1,
        Cmd: { a: `${TRANSFER_Q}CHAT_ID=115&USER_ID=13`, b: `${TRANSFER_Q}CHAT_ID=116&USER_ID=12` },
      }),
    );
    expect(batch.result_error).toEqual({ a: errorBody("OPERATOR_WRONG") });
    expect(batch.result).toEqual([]);
    expect(sim.ledger).toEqual([]);
  });

  it("skips a command that is not a string (no entry at all), and it still counts towards the 50", async () => {
    const sim = await start();
    const cmd: Record<string, unknown> = { skipped: { method: "scope" }, also: 42 };
    for (let i = 0; i < 48; i++) cmd[`s${i}`] = "scope";
    cmd.over = `${TRANSFER_Q}CHAT_ID=112&USER_ID=12`;
    const batch = batchOf(await call(sim, "batch", { cmd }));
    const results = batch.result as Record<string, unknown>;
    const errors = batch.result_error as Record<string, unknown>;
    expect(Object.keys(results)).toHaveLength(48);
    expect("skipped" in results || "skipped" in errors || "also" in errors).toBe(false);
    expect(errors).toEqual({ over: errorBody("ERROR_BATCH_LENGTH_EXCEEDED") });
    expect(sim.ledger).toEqual([]);
  });

  it("does not strip .json inside a command: that method does not exist", async () => {
    const sim = await start();
    const batch = batchOf(
      await call(sim, "batch", {
        cmd: { json: `${TRANSFER}.json?CHAT_ID=112&USER_ID=12`, upper: "SCOPE" },
      }),
    );
    expect(batch.result_error).toEqual({ json: errorBody("ERROR_METHOD_NOT_FOUND") });
    expect(batch.result).toEqual({ upper: ["imopenlines", "imbot", "im"] });
    expect(sim.ledger).toEqual([]);
  });

  it("numeric keys 0..n-1 make lists, other keys objects (PHP arrays)", async () => {
    const sim = await start();
    const batch = batchOf(
      await call(sim, "batch", {
        cmd: [`${TRANSFER_Q}CHAT_ID=112&USER_ID=12`, `${TRANSFER_Q}CHAT_ID=999&USER_ID=12`],
      }),
    );
    expect(batch.result).toEqual([true]);
    expect(batch.result_error).toEqual({ 1: errorBody("OPERATOR_WRONG") });
    expect(Array.isArray(batch.result_time)).toBe(true);
  });

  it("halt: 1 stops at the first failing command", async () => {
    const sim = await start();
    const batch = batchOf(
      await call(sim, "batch", {
        halt: 1,
        cmd: {
          a: `${TRANSFER_Q}CHAT_ID=115&USER_ID=12`,
          b: `${TRANSFER_Q}CHAT_ID=115&USER_ID=13`,
          c: `${TRANSFER_Q}CHAT_ID=116&USER_ID=12`,
        },
      }),
    );
    expect(batch.result).toEqual({ a: true });
    expect(batch.result_error).toEqual({ b: errorBody("OPERATOR_WRONG") });
    expect(sim.ledger.map((record) => record.chatId)).toEqual([115]);
    expect(sim.chat(116)?.ownerId).toBe(0);
  });

  it("runs 50 commands; each one past the 50th gets ERROR_BATCH_LENGTH_EXCEEDED", async () => {
    const sim = await start();
    const cmd = Object.fromEntries(
      Array.from({ length: 52 }, (_, i) => [`c${i}`, `${TRANSFER_Q}CHAT_ID=112&USER_ID=12&LEAVE=N`]),
    );
    const batch = batchOf(await call(sim, "batch", { halt: 0, cmd }));
    expect(Object.keys(batch.result as object)).toHaveLength(50);
    expect(batch.result_error).toEqual({
      c50: { error: "ERROR_BATCH_LENGTH_EXCEEDED", error_description: "Max batch length exceeded" },
      c51: { error: "ERROR_BATCH_LENGTH_EXCEEDED", error_description: "Max batch length exceeded" },
    });
    expect(sim.ledger).toHaveLength(50);
  });

  it("counts as one hit against the rate limit, however many commands it holds", async () => {
    const clock = manualClock();
    const sim = await start({ rateLimit: { burst: 2, drainPerSecond: 1 }, now: clock.now });
    const cmd = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, "scope"]));
    batchOf(await call(sim, "batch", { cmd }));
    expect((await call(sim, "scope")).status).toBe(200);
    expect((await call(sim, "scope")).status).toBe(503);
  });

  it("takes form-encoded commands and $result references to earlier commands", async () => {
    const sim = await start();
    const reply = await request(`${sim.webhookUrl()}batch`, {
      method: "POST",
      body: new URLSearchParams({
        halt: "1",
        "cmd[lines]": `${CONFIG_LIST}?PARAMS[filter][ACTIVE]=Y&OPTIONS[QUEUE]=Y`,
        "cmd[move]": `${TRANSFER_Q}CHAT_ID=117&USER_ID=$result[lines][1][QUEUE][1]`,
      }),
    });
    const batch = batchOf(reply);
    expect(batch.result_error).toEqual([]);
    expect(batch.result_total).toEqual({ lines: 3 });
    expect(sim.ledger).toMatchObject([{ chatId: 117, to: { userId: 14 } }]);
  });

  it("checks each command's scope: the batch answers 200 with insufficient_scope entries", async () => {
    const sim = await start();
    sim.addWebhook({ userId: 1, code: "im0only", scopes: ["im"] });
    const batch = batchOf(
      await call(
        sim,
        "batch",
        { cmd: { t: `${TRANSFER_Q}CHAT_ID=112&USER_ID=12` } },
        { userId: 1, code: "im0only" },
      ),
    );
    expect(batch.result).toEqual([]);
    expect(batch.result_error).toEqual({ t: errorBody("insufficient_scope") });
    expect(sim.ledger).toEqual([]);
  });
});

describe("robustness", () => {
  it("an invalid JSON body → 400 ERROR_ARGUMENT, and the server keeps serving", async () => {
    const sim = await start();
    for (const body of ['{"CHAT_ID": 112,', '"just a string"']) {
      const reply = await request(`${sim.webhookUrl()}${TRANSFER}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(reply.status).toBe(400);
      expect(reply.json).toEqual(errorBody("ERROR_ARGUMENT"));
    }
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).status).toBe(200);
  });

  it("a body over 1 MiB → 413, and the server keeps serving", async () => {
    const sim = await start();
    const reply = await request(`${sim.webhookUrl()}${TRANSFER}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CHAT_ID: 112, USER_ID: 12, PAD: "x".repeat(1024 * 1024) }),
    });
    expect(reply.status).toBe(413);
    expect(sim.ledger).toEqual([]);
    expect((await call(sim, "scope")).status).toBe(200);
  });

  it("odd paths and hostile keys get Bitrix24 errors, never a crash", async () => {
    const sim = await start();
    expect((await request(`${sim.url}/rest/1/%E0%A4%A/scope`)).json).toEqual(
      errorBody("INVALID_CREDENTIALS"),
    );
    expect((await request(`${sim.webhookUrl()}`)).json).toEqual(errorBody("ERROR_METHOD_NOT_FOUND"));
    expect((await request(`${sim.url}/rest/1/a/b/c`)).status).toBe(404);

    const hostile = await request(`${sim.webhookUrl()}${TRANSFER}?__proto__[polluted]=1&CHAT_ID[]=x`, {
      method: "POST",
      body: new URLSearchParams({ "constructor[prototype][polluted]": "1", USER_ID: "12" }),
    });
    expect(hostile.json).toEqual(errorBody("CHAT_ID_EMPTY"));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await call(sim, "scope")).status).toBe(200);
  });
});

describe("reset", () => {
  it("clears ledger, hits, faults and buckets, and restores the chats; webhooks stay", async () => {
    const clock = manualClock();
    const sim = await start({ rateLimit: { burst: 1, drainPerSecond: 1 }, now: clock.now });
    sim.addWebhook({ userId: 3, code: "kept0code", scopes: ["imopenlines", "imbot"] });
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12, LEAVE: "Y" })).status).toBe(200);
    expect((await call(sim, "scope")).status).toBe(503);
    sim.injectFault({ kind: "empty" });

    sim.reset();
    expect(sim.ledger).toEqual([]);
    expect(sim.hits).toEqual([]);
    expect(sim.chat(112)).toEqual(FRESH_112);
    const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect(reply.json).toMatchObject({ result: true });
    // One bucket for the portal's callers on this address: let the transfer's slot drain first.
    clock.ms += 1000;
    expect((await call(sim, "scope", {}, { userId: 3, code: "kept0code" })).status).toBe(200);
  });
});

describe("method lookup before authentication", () => {
  it("an unknown method answers 404 whatever the credentials; a known one then checks them (401)", async () => {
    const sim = await start();
    const wrong = { userId: 1, code: "wrong0code" };
    const unknown = await call(sim, "imopenlines.bot.session.teleport", {}, wrong);
    expect([unknown.status, unknown.json]).toEqual([404, errorBody("ERROR_METHOD_NOT_FOUND")]);
    const bare = await request(`${sim.url}/rest/no.such.method.json`, { method: "POST" });
    expect([bare.status, bare.json]).toEqual([404, errorBody("ERROR_METHOD_NOT_FOUND")]);
    const known = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 }, wrong);
    expect([known.status, known.json]).toEqual([401, errorBody("INVALID_CREDENTIALS")]);
  });
});

describe("faults after execution", () => {
  const afterExecution: Array<[string, Fault]> = [
    ["500 ERROR_CORE", { kind: "error", status: 500, error: "ERROR_CORE" }],
    ["400 ERROR_CORE", { kind: "error", status: 400, error: "ERROR_CORE" }],
    ["502 envelope", { kind: "error", status: 502, error: "INTERNAL_SERVER_ERROR" }],
    ["504 envelope", { kind: "error", status: 504, error: "ERROR_UNEXPECTED_ANSWER" }],
    ["malformed 200", { kind: "malformed" }],
    ["html proxy page", { kind: "html", status: 502 }],
    ["empty 200", { kind: "empty" }],
  ];

  it.each(afterExecution)(
    "%s with executes: the transfer ran though the caller got the fault",
    async (_name, fault) => {
      const sim = await start();
      sim.injectFault(fault, { executes: true });
      const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
      expect(reply.json).not.toMatchObject({ result: true });
      expect(sim.ledger).toMatchObject([{ chatId: 112, to: { userId: 12 } }]);
      expect(sim.chat(112)?.ownerId).toBe(12);
      expect(sim.hits).toMatchObject([{ method: TRANSFER, fault: fault.kind }]);
    },
  );

  it.each(afterExecution)("%s by default: refused before execution", async (_name, fault) => {
    const sim = await start();
    sim.injectFault(fault);
    const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect(reply.json).not.toMatchObject({ result: true });
    expect(sim.ledger).toEqual([]);
    expect(sim.chat(112)).toEqual(FRESH_112);
  });

  it("ERROR_CORE answers its envelope with the injected status", async () => {
    const sim = await start();
    sim.injectFault({ kind: "error", status: 500, error: "ERROR_CORE", description: "boom" });
    const reply = await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 });
    expect([reply.status, reply.json]).toEqual([500, { error: "ERROR_CORE", error_description: "boom" }]);
  });

  it("reset and hang with executes: the chat moved, the answer is lost", async () => {
    const sim = await start();
    sim.injectFault({ kind: "reset" }, { executes: true, method: TRANSFER });
    await expect(call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).rejects.toThrow();
    expect(sim.ledger).toMatchObject([{ chatId: 112 }]);

    sim.injectFault({ kind: "hang" }, { executes: true });
    const hung = call(sim, TRANSFER, { CHAT_ID: 113, QUEUE_ID: 3 }).then(
      () => "answered",
      () => "failed",
    );
    // Nothing answers until the timeout; the test gives up after 300 ms.
    const outcome = await Promise.race([
      hung,
      new Promise((resolve) => setTimeout(() => resolve("hung"), 300)),
    ]);
    expect(outcome).toBe("hung");
    expect(sim.ledger.map((record) => record.chatId)).toEqual([112, 113]);
    expect(sim.hits.map((hit) => hit.fault)).toEqual(["reset", "hang"]);
  });

  it("a batch with an after-execution fault runs every command, then loses the answer", async () => {
    const sim = await start();
    sim.injectFault({ kind: "error", status: 504, error: "GATEWAY_TIMEOUT" }, { executes: true });
    const reply = await call(sim, "batch", {
      cmd: {
        a: `${TRANSFER_Q}CHAT_ID=112&USER_ID=12`,
        b: `${MESSAGE_SEND}?CHAT_ID=113&MESSAGE=x&NAME=DEFAULT`,
      },
    });
    expect(reply.status).toBe(504);
    expect(sim.ledger).toMatchObject([{ seq: 1, chatId: 112 }]);
    expect(sim.messages).toMatchObject([{ seq: 2, chatId: 113 }]);
  });
});

describe("a renamed portal (movePortal)", () => {
  it("the old address answers 302 to the new one with the same path and query; the new one works", async () => {
    const sim = await start();
    const oldBase = sim.webhookUrl();
    const oldUrl = sim.url;
    const newUrl = await sim.movePortal();
    expect(newUrl).not.toBe(oldUrl);
    expect(sim.url).toBe(newUrl);

    const path = `${TRANSFER}.json?CHAT_ID=112&USER_ID=12&CLIENT_ID=${DEMO_BOT.clientId}`;
    const moved = await fetch(`${oldBase}${path}`, { method: "POST", redirect: "manual" });
    expect(moved.status).toBe(302);
    expect(moved.headers.get("location")).toBe(`${newUrl}${new URL(oldBase).pathname}${path}`);
    expect(sim.ledger).toEqual([]);

    const followed = await request(moved.headers.get("location") as string, { method: "POST" });
    expect(followed.json).toMatchObject({ result: true });
    expect(sim.webhookUrl().startsWith(newUrl)).toBe(true);
    expect(sim.ledger).toMatchObject([{ chatId: 112 }]);
    // The same state behind both: the old address redirects even an unknown method.
    expect((await fetch(`${oldUrl}/rest/anything`, { redirect: "manual" })).status).toBe(302);
  });

  it("token answers after the move carry the new client_endpoint", async () => {
    const sim = await start();
    const grant = sim.installApp();
    const newUrl = await sim.movePortal();
    const refreshed = await request(
      `${sim.tokenUrl}?${new URLSearchParams({
        grant_type: "refresh_token",
        client_id: DEMO_APP.clientId,
        client_secret: DEMO_APP.clientSecret,
        refresh_token: grant.refresh_token,
      })}`,
    );
    expect(refreshed.json).toMatchObject({ client_endpoint: `${newUrl}/rest/` });
  });
});

describe("reset of the new state", () => {
  it("clears messages, sequence numbers and locks", async () => {
    const sim = await start();
    sim.holdLock(112, { times: 3 });
    await call(sim, MESSAGE_SEND, { CHAT_ID: 112, MESSAGE: "x", NAME: "DEFAULT" });
    expect(sim.messages).toHaveLength(1);
    sim.reset();
    expect(sim.messages).toEqual([]);
    expect((await call(sim, TRANSFER, { CHAT_ID: 112, USER_ID: 12 })).status).toBe(200);
    expect(sim.ledger).toMatchObject([{ seq: 1 }]);
  });
});
