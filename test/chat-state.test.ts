import { describe, expect, it } from "vitest";
import { chatIdOf, chatState, parseDialog } from "../lambda/domain/chat-state.ts";
import { chatGuardFixtures } from "./support/chat-fixtures.ts";

const { dialog } = chatGuardFixtures;
const noBots = () => false;

describe("imopenlines.dialog.get read as a chat state (rest.php dialogGet → formatChatData)", () => {
  it("reads owner, session, line and CRM binding from LINES_SESSION (Chat::getFieldData order)", () => {
    const read = parseDialog(dialog({ owner: 12, entity_data_1: "Y|DEAL|77|N|N|501|1700000000|4" }), 112);
    expect(read?.ownerId).toBe(12);
    expect(read && chatState(read, noBots)).toEqual({
      chatId: 112,
      dialogId: "chat112",
      holder: { kind: "user", userId: 12 },
      dialogue: "open",
      sessionId: 501,
      lineId: 4,
      crm: { entityType: "DEAL", entityId: 77 },
    });
  });

  it("takes the chat's own line from ENTITY_ID when the session names none (LINE_ID 0 or absent)", () => {
    const read = parseDialog(dialog({ owner: 0, entity_data_1: "N|NONE|0|N|N|501|1700000000|0" }), 112);
    expect(read?.state.lineId).toBe(3);
    expect(parseDialog(dialog({ owner: 0, entity_data_1: "N|NONE|0|N|N|501" }), 112)?.state.lineId).toBe(3);
    expect(
      parseDialog(dialog({ owner: 0, entity_id: "telegram", entity_data_1: "" }), 112)?.state.lineId,
    ).toBe(undefined);
  });

  it("session id 0 is a closed dialogue (Chat::finish); no session field leaves it unknown, never open", () => {
    const closed = parseDialog(dialog({ owner: 0, entity_data_1: "N|NONE|0|N|N|0|0|3" }), 122);
    expect(closed?.state.dialogue).toBe("closed");
    expect(closed?.state.sessionId).toBeUndefined();
    expect(parseDialog(dialog({ owner: 0, entity_data_1: "" }), 122)?.state.dialogue).toBe("unknown");
    expect(parseDialog(dialog({ owner: 0, entity_data_1: "N|NONE|0|N|N|x" }), 122)?.state.dialogue).toBe(
      "unknown",
    );
  });

  it("owner 0 is nobody; an owner in the portal's bot list is a bot, any other a person", () => {
    const read = (owner: number) => parseDialog(dialog({ owner }), 112);
    const isBot = (id: number) => id === 7;
    expect(chatState(read(0) as never, isBot).holder).toEqual({ kind: "none" });
    expect(chatState(read(7) as never, isBot).holder).toEqual({ kind: "bot", userId: 7 });
    expect(chatState(read(12) as never, isBot).holder).toEqual({ kind: "user", userId: 12 });
    // User 1 (a portal's first admin) is a person like any other.
    expect(chatState(read(1) as never, isBot).holder).toEqual({ kind: "user", userId: 1 });
  });

  it("an owner sent as a string of digits is read (PHP may serialise either way)", () => {
    expect(parseDialog(dialog({ owner: "12" }), 112)?.ownerId).toBe(12);
  });

  it("a CRM binding is shown only when CRM = Y with an upper-case type and a positive id", () => {
    const crm = (field: string) => parseDialog(dialog({ owner: 0, entity_data_1: field }), 1)?.state.crm;
    expect(crm("N|DEAL|77|N|N|5")).toBeUndefined();
    expect(crm("Y|<b>x</b>|77|N|N|5")).toBeUndefined();
    expect(crm("Y|LEAD|0|N|N|5")).toBeUndefined();
    expect(crm("Y||77|N|N|5")).toBeUndefined();
    expect(crm("Y|LEAD|9|N|N|5")).toEqual({ entityType: "LEAD", entityId: 9 });
  });

  it("anything that is not a chat answer is no read at all", () => {
    for (const answer of [
      null,
      true,
      "chat",
      [],
      {},
      { owner: -1 },
      { owner: 1.5 },
      { owner: "x" },
      { owner: "99999999999999999" },
    ]) {
      expect(parseDialog(answer, 112)).toBeUndefined();
    }
  });

  it("takes a chat id as digits or as the dialog id chat<digits>, nothing else", () => {
    expect(chatIdOf("112")).toBe(112);
    expect(chatIdOf("chat112")).toBe(112);
    for (const bad of [
      "",
      "0",
      "chat0",
      "chat",
      "012",
      "chat-1",
      "112a",
      "user12",
      "chat12345678901234567",
    ]) {
      expect(chatIdOf(bad)).toBeUndefined();
    }
  });
});
