/** `imopenlines.dialog.get` answers and chat states as the domain tests need them. */
import type { ChatState } from "../../lambda/domain/chat-state.ts";

/** An answer shaped like formatChatData with the JSON option (lower-case keys), for an Open Lines chat on line 3. */
function dialog(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    id: 112,
    name: "Telegram client",
    owner: 0,
    type: "lines",
    entity_type: "LINES",
    entity_id: "telegrambot|3|1000|30",
    entity_data_1: "N|NONE|0|N|N|501|1700000000|0",
    entity_data_2: "",
    dialog_id: "chat112",
    ...overrides,
  };
}

/** A chat in its bot's hands: open dialogue 501 on line 3, owner 0. */
function chat(overrides: Partial<ChatState> = {}): ChatState {
  return {
    chatId: 112,
    dialogId: "chat112",
    holder: { kind: "none" },
    dialogue: "open",
    sessionId: 501,
    lineId: 3,
    ...overrides,
  };
}

export const chatGuardFixtures = { dialog, chat };
