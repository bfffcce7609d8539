// The chat page's behaviour: sign in with a user id (and an API key when the server wants one),
// list that user's conversations, open one, send messages, and follow it live through the
// `messageAdded` subscription, with the assistant's replies appearing word by word as they are
// written (`assistantReply`). After a lost connection the page refetches what it shows, so
// nothing sent in the meantime is missing; a conversation that no longer exists is cleared
// and the person is told why.
import { graphql, LiveSocket } from './transport.js';
import * as view from './view.js';

const { $ } = view;

const CONVERSATION = 'id createdAt updatedAt messageCount metadata';
const MESSAGE = 'id conversationId role content createdAt';
const LIST = `query ChatConversations($userId: String!) {
  conversations(userId: $userId, limit: 50) {
    conversations { ${CONVERSATION} messages(limit: 1, order: DESC) { messages { content } } }
  }
}`;
const OPEN = `query ChatConversation($id: ID!) {
  conversation(id: $id) {
    ${CONVERSATION}
    messages(limit: 100, order: DESC) { messages { ${MESSAGE} } }
  }
}`;
const CREATE = `mutation ChatStart($userId: String!) {
  createConversation(input: { userId: $userId }) { ${CONVERSATION} }
}`;
const SEND = `mutation ChatSend($id: ID!, $content: String!) {
  sendMessage(input: { conversationId: $id, content: $content }) {
    userMessage { ${MESSAGE} }
    assistantMessage { ${MESSAGE} }
  }
}`;
const LIVE = `subscription ChatLive($id: ID!) { messageAdded(conversationId: $id) { ${MESSAGE} } }`;
const REPLY = `subscription ChatReply($id: ID!) {
  assistantReply(conversationId: $id) { messageId delta done error { code message } message { ${MESSAGE} } }
}`;
const REGENERATE = `mutation ChatAskAgain($id: ID!) { regenerateReply(messageId: $id) { ${MESSAGE} } }`;

const GONE =
  'That conversation no longer exists: it was deleted, or the server restarted and forgot it.';

const state = {
  keyRequired: false,
  userId: '',
  apiKey: '',
  conversations: [],
  selected: null,
  messages: new Map(),
  // Replies being written, by the id they will be stored with: {id, content, streaming}.
  drafts: new Map(),
  seen: 0,
  stopLive: null,
  stopReplies: null,
  socket: null,
};

/** What to tell the person about a failed request. */
function explain(error) {
  switch (error.code) {
    case 'NETWORK_ERROR':
      return 'The server cannot be reached. Check that it is running, then try again.';
    case 'UNAUTHORIZED':
      return state.apiKey
        ? 'The server did not accept this API key.'
        : 'This server needs an API key.';
    case 'RATE_LIMITED':
      return `Too many requests just now; try again in ${error.retryAfter || 60} s.`;
    default:
      return error.message;
  }
}

function run(query, variables) {
  return graphql(query, variables, state.apiKey);
}

// ---- conversations ----------------------------------------------------------------------

function toListEntry(conversation) {
  const latest = conversation.messages ? conversation.messages.messages[0] : null;
  return { ...conversation, preview: latest ? latest.content : '' };
}

function drawList() {
  const selectedId = state.selected ? state.selected.id : null;
  view.renderConversations(state.conversations, selectedId, openConversation);
  if (state.conversations.length === 0) {
    view.showState('conversations-state', {
      text: 'No conversations yet. Start one with "New conversation".',
    });
  } else {
    view.showState('conversations-state', {});
  }
}

/**
 * Loads the list; `quiet` keeps the current list on screen while it loads. Resolves to the
 * error, or null when the list is up to date.
 */
async function loadConversations({ quiet } = {}) {
  if (!quiet) view.showState('conversations-state', { text: 'Loading conversations…' });
  try {
    const data = await run(LIST, { userId: state.userId });
    state.conversations = data.conversations.conversations.map(toListEntry);
    drawList();
    return null;
  } catch (error) {
    if (!quiet) {
      view.showState('conversations-state', {
        text: explain(error),
        error: true,
        retry: () => loadConversations(),
      });
    }
    return error;
  }
}

async function startConversation() {
  const button = $('new-conversation');
  button.disabled = true;
  try {
    const data = await run(CREATE, { userId: state.userId });
    const conversation = toListEntry(data.createConversation);
    state.conversations = [conversation, ...state.conversations.filter((c) => c.id !== conversation.id)];
    drawList();
    openConversation(conversation.id);
  } catch (error) {
    view.showNotice(`Could not start a conversation. ${explain(error)}`);
  } finally {
    button.disabled = false;
  }
}

// ---- one conversation -------------------------------------------------------------------

function isOpen(id) {
  return state.selected !== null && state.selected.id === id;
}

function ordered() {
  return [...state.messages.values()].sort((a, b) =>
    a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.seen - b.seen,
  );
}

function redraw() {
  view.renderMessages(ordered(), [...state.drafts.values()]);
}

/** Adds messages of the open conversation that are not on screen yet, then redraws. */
function merge(messages) {
  let added = 0;
  for (const message of messages) {
    if (!isOpen(message.conversationId) || state.messages.has(message.id)) continue;
    state.messages.set(message.id, { ...message, seen: state.seen++ });
    // A stored reply takes the place of its draft.
    state.drafts.delete(message.id);
    added += 1;
  }
  if (added === 0) return;
  const all = ordered();
  redraw();
  view.showState('messages-state', {});
  const entry = state.conversations.find((c) => c.id === state.selected.id);
  if (entry) {
    entry.preview = all[all.length - 1].content;
    entry.messageCount = Math.max(entry.messageCount, all.length);
    drawList();
  }
}

function stopLive() {
  if (state.stopLive) state.stopLive();
  if (state.stopReplies) state.stopReplies();
  state.stopLive = null;
  state.stopReplies = null;
  state.drafts = new Map();
}

/** One item of `assistantReply`: a piece of a reply being written, its end, or its failure. */
function onReplyItem(id, item) {
  if (!isOpen(id)) return;
  if (item.done) {
    // The finished reply stays last, as written, until `messageAdded` (or the mutation's
    // answer) brings the stored message in its place: the two subscriptions may deliver in
    // either order, and only `messageAdded` puts messages in stored order.
    if (item.message && !state.messages.has(item.messageId)) {
      state.drafts.set(item.messageId, { ...item.message, streaming: false });
    } else {
      state.drafts.delete(item.messageId);
    }
    redraw();
    if (item.error) replyFailed(item.error.message);
    return;
  }
  if (state.messages.has(item.messageId)) return;
  let draft = state.drafts.get(item.messageId);
  if (!draft) {
    draft = { id: item.messageId, conversationId: id, role: 'ASSISTANT', content: '', streaming: true };
    state.drafts.set(item.messageId, draft);
    view.showState('messages-state', {});
  }
  draft.content += item.delta;
  view.renderDraft(draft);
}

/** Follows the replies being written in conversation `id`, piece by piece. */
function followReplies(id) {
  state.stopReplies = state.socket.subscribe(REPLY, { id }, {
    next: (payload) => {
      const item = payload.data && payload.data.assistantReply;
      if (item) onReplyItem(id, item);
    },
    // `messageAdded` reports a conversation that is gone; a reply stream that ends just
    // stops showing drafts.
    error: () => {},
    complete: () => {},
  });
}

/** Tells the person the assistant did not answer, with a button to ask again. */
function replyFailed(reason) {
  const latest = ordered().pop();
  const unanswered = latest && latest.role === 'USER' ? latest : null;
  const text = `The assistant could not answer. ${reason || ''}`.trim();
  view.showSendError(
    text,
    unanswered && { label: 'Ask again', run: () => askAgain(unanswered) },
  );
}

async function askAgain(message) {
  const id = message.conversationId;
  view.showSendError('');
  view.composerBusy(true);
  try {
    const data = await run(REGENERATE, { id: message.id });
    if (isOpen(id)) merge([data.regenerateReply]);
  } catch (error) {
    if (error.code === 'ASSISTANT_UNAVAILABLE') replyFailed(error.message);
    else view.showSendError(`Could not ask again. ${explain(error)}`);
  } finally {
    view.composerBusy(false);
  }
}

function followLive(id) {
  stopLive();
  // The protocol does not confirm a subscription; its first event does. A message stored
  // while it was being set up may be missing, so the first event also triggers a refetch.
  let confirmed = false;
  const stop = state.socket.subscribe(LIVE, { id }, {
    next: (payload) => {
      if (payload.errors && payload.errors.length > 0) {
        liveFailed(id, payload.errors);
      } else if (payload.data && payload.data.messageAdded) {
        merge([payload.data.messageAdded]);
        if (!confirmed) {
          confirmed = true;
          refresh();
        }
      }
    },
    error: (errors) => liveFailed(id, errors),
    // The server ends the subscription when the conversation is deleted.
    complete: () => {
      if (isOpen(id)) {
        state.stopLive = null;
        refresh();
      }
    },
  });
  state.stopLive = stop;
  followReplies(id);
}

function liveFailed(id, errors) {
  if (!isOpen(id)) return;
  const first = (Array.isArray(errors) && errors[0]) || {};
  const code = first.extensions && first.extensions.code;
  stopLive();
  if (code === 'NOT_FOUND') {
    conversationGone(id);
  } else if (code === 'SUBSCRIPTION_LAGGED') {
    followLive(id);
    refresh();
  } else {
    view.showNotice(`Live updates stopped: ${first.message || 'unknown error'}. Reload to resume.`);
  }
}

/** Fetches the open conversation again; anything missed while offline is merged in. */
async function refresh() {
  if (!state.selected) return;
  const id = state.selected.id;
  try {
    const data = await run(OPEN, { id });
    if (!isOpen(id)) return;
    if (!data.conversation) {
      conversationGone(id);
      return;
    }
    if (!state.stopLive) followLive(id);
    merge(data.conversation.messages.messages.slice().reverse());
  } catch (error) {
    if (isOpen(id)) view.showNotice(`Could not refresh the conversation. ${explain(error)}`);
  }
  loadConversations({ quiet: true });
}

async function openConversation(id) {
  if (isOpen(id)) return;
  stopLive();
  view.showNotice('');
  view.setText('send-error', '');
  const known = state.conversations.find((c) => c.id === id);
  state.selected = known || { id, createdAt: '', metadata: {} };
  state.messages = new Map();
  state.drafts = new Map();
  history.replaceState(null, '', `#${id}`);
  drawList();
  view.showThread(state.selected);
  view.renderMessages([]);
  view.scrollToEndOnNextRender();
  view.showState('messages-state', { text: 'Loading messages…' });
  // Subscribe first, then fetch: a message stored in between arrives by one path or the other.
  followLive(id);
  try {
    const data = await run(OPEN, { id });
    if (!isOpen(id)) return;
    if (!data.conversation) {
      conversationGone(id);
      return;
    }
    state.selected = data.conversation;
    view.showThread(state.selected);
    merge(data.conversation.messages.messages.slice().reverse());
    if (state.messages.size === 0) {
      view.showState('messages-state', { text: 'No messages yet. Say hello!' });
    }
    $('message-input').focus();
  } catch (error) {
    if (!isOpen(id)) return;
    view.showState('messages-state', {
      text: explain(error),
      error: true,
      retry: () => {
        state.selected = null;
        openConversation(id);
      },
    });
  }
}

function closeConversation() {
  stopLive();
  state.selected = null;
  state.messages = new Map();
  history.replaceState(null, '', window.location.pathname);
  view.renderMessages([]);
  view.showThread(null);
  drawList();
}

function conversationGone(id) {
  if (!isOpen(id)) return;
  state.conversations = state.conversations.filter((c) => c.id !== id);
  closeConversation();
  view.showNotice(GONE);
  loadConversations({ quiet: true });
}

async function sendMessage(event) {
  event.preventDefault();
  const input = $('message-input');
  const content = input.value;
  if (!state.selected || content.trim() === '') return;
  const id = state.selected.id;
  view.composerBusy(true);
  view.showSendError('');
  try {
    const data = await run(SEND, { id, content });
    if (isOpen(id)) {
      input.value = '';
      merge([data.sendMessage.userMessage, data.sendMessage.assistantMessage]);
    }
  } catch (error) {
    if (error.code === 'NOT_FOUND') {
      conversationGone(id);
    } else if (error.code === 'ASSISTANT_UNAVAILABLE' && error.details.userMessage) {
      // The message is stored; only the reply is missing.
      const stored = error.details.userMessage;
      if (isOpen(id)) {
        input.value = '';
        merge([{ ...stored, role: stored.role.toUpperCase() }]);
        replyFailed(error.message);
      }
    } else {
      view.showSendError(`Not sent. ${explain(error)}`);
    }
  } finally {
    view.composerBusy(false);
    input.focus();
  }
}

// ---- signing in and the live connection ------------------------------------------------

function onSocketStatus(status, detail) {
  view.showStatus(status, detail);
  if (status === 'live' && detail.reconnected) {
    if (state.selected) refresh();
    else loadConversations({ quiet: true });
  } else if (status === 'refused') {
    view.showNotice('The server refused live updates: the API key is missing or not valid.');
  }
}

async function enter(userId, apiKey) {
  state.userId = userId;
  state.apiKey = apiKey;
  view.signInBusy(true);
  const failure = await loadConversations();
  view.signInBusy(false);
  if (failure) {
    const error = explain(failure);
    view.showSignIn({ userId, apiKey, keyRequired: state.keyRequired, error });
    return;
  }
  localStorage.setItem('chatgate.userId', userId);
  sessionStorage.setItem('chatgate.apiKey', apiKey);
  view.showChat(userId);
  if (state.socket) state.socket.close();
  state.socket = new LiveSocket({ apiKey, onStatus: onSocketStatus });
  state.socket.connect();
  const wanted = window.location.hash.slice(1);
  if (wanted) openConversation(wanted);
  else closeConversation();
}

function signOut() {
  closeConversation();
  if (state.socket) state.socket.close();
  state.socket = null;
  view.showStatus('idle', {});
  view.showNotice('');
  localStorage.removeItem('chatgate.userId');
  view.showSignIn({ userId: '', apiKey: state.apiKey, keyRequired: state.keyRequired });
}

async function serverConfig() {
  try {
    const response = await fetch('/playground/config.json', { cache: 'no-store' });
    if (response.ok) return await response.json();
  } catch (_) {
    // Unreachable server: the first request says so.
  }
  return { apiKeyRequired: false };
}

async function start() {
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const userId = $('user-id').value.trim();
    if (userId) enter(userId, $('api-key').value.trim());
  });
  $('new-conversation').addEventListener('click', startConversation);
  $('composer').addEventListener('submit', sendMessage);
  $('message-input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('switch-user').addEventListener('click', signOut);
  $('notice-close').addEventListener('click', () => view.showNotice(''));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.socket) loadConversations({ quiet: true });
  });

  const config = await serverConfig();
  state.keyRequired = config.apiKeyRequired === true;
  const userId = localStorage.getItem('chatgate.userId') || '';
  const apiKey = sessionStorage.getItem('chatgate.apiKey') || '';
  if (userId && (apiKey || !state.keyRequired)) {
    enter(userId, apiKey);
  } else {
    view.showSignIn({ userId, apiKey, keyRequired: state.keyRequired });
  }
}

start();
