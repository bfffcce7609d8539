// Everything the chat page draws. Text from the server is only ever set with textContent, so
// a message containing markup shows as the characters it is, never as HTML.

const $ = (id) => document.getElementById(id);

/** Creates an element with a class and text. */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});

/** "14:05" today, "3 Oct, 14:05" on other days. */
export function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const today = new Date().toDateString() === date.toDateString();
  return today ? timeFormat.format(date) : dateTimeFormat.format(date);
}

/** A conversation's name: `metadata.title` when it has one, else when it started. */
export function conversationTitle(conversation) {
  const title = conversation.metadata && conversation.metadata.title;
  if (typeof title === 'string' && title.trim() !== '') return title;
  return `Conversation from ${when(conversation.createdAt)}`;
}

export function showSignIn({ userId, apiKey, keyRequired, error }) {
  $('booting').hidden = true;
  $('chat').hidden = true;
  $('sign-in').hidden = false;
  $('who').hidden = true;
  $('switch-user').hidden = true;
  $('user-id').value = userId || '';
  $('api-key').value = apiKey || '';
  $('api-key').required = keyRequired;
  $('api-key').placeholder = keyRequired ? 'required by this server' : 'optional';
  $('api-key-hint').textContent = keyRequired
    ? '(this server requires one)'
    : '(only if the server asks for one)';
  setText('sign-in-error', error);
  $(userId ? (keyRequired ? 'api-key' : 'sign-in-button') : 'user-id').focus();
}

export function signInBusy(busy) {
  $('sign-in-button').disabled = busy;
  $('sign-in-button').textContent = busy ? 'Opening…' : 'Open my conversations';
}

export function showChat(userId) {
  $('booting').hidden = true;
  $('sign-in').hidden = true;
  $('chat').hidden = false;
  $('who').hidden = false;
  $('who').textContent = `Signed in as ${userId}`;
  $('switch-user').hidden = false;
}

/** Sets an element's text and hides it when there is none. */
export function setText(id, text) {
  const node = $(id);
  node.textContent = text || '';
  node.hidden = !text;
}

const STATUS_TEXT = {
  idle: '',
  connecting: 'Connecting…',
  live: 'Live',
  refused: 'Live updates refused: check the API key',
};

export function showStatus(state, detail) {
  const node = $('status');
  node.dataset.state = state;
  if (state === 'waiting') {
    const seconds = Math.max(1, Math.round(detail.delayMs / 1000));
    node.textContent = `Connection lost, retrying in ${seconds} s`;
  } else {
    node.textContent = STATUS_TEXT[state] || '';
  }
}

export function showNotice(text) {
  setText('notice-text', text);
  $('notice').hidden = !text;
}

/** A loading, empty or error line; `retry` adds a "Try again" button. */
export function showState(id, { text, error, retry }) {
  const node = $(id);
  node.textContent = '';
  node.classList.toggle('error', Boolean(error));
  if (!text) return;
  node.append(el('span', '', text));
  if (retry) {
    const button = el('button', 'link-button', 'Try again');
    button.type = 'button';
    button.addEventListener('click', retry);
    node.append(button);
  }
}

/**
 * Draws the conversation list; `previews` maps an id to its latest message text and
 * `onOpen(id)` is called when one is picked.
 */
export function renderConversations(conversations, selectedId, onOpen) {
  const list = $('conversations');
  list.textContent = '';
  for (const conversation of conversations) {
    const item = el('li');
    const button = el('button');
    button.type = 'button';
    button.dataset.id = conversation.id;
    if (conversation.id === selectedId) button.setAttribute('aria-current', 'true');
    button.append(el('span', 'conversation-title', conversationTitle(conversation)));
    const count = conversation.messageCount;
    const preview = conversation.preview
      ? conversation.preview
      : count === 0
        ? 'No messages yet'
        : `${count} message${count === 1 ? '' : 's'}`;
    button.append(el('span', 'conversation-preview', preview));
    button.addEventListener('click', () => onOpen(conversation.id));
    item.append(button);
    list.append(item);
  }
}

export function showThread(conversation) {
  $('thread-empty').hidden = Boolean(conversation);
  $('thread').hidden = !conversation;
  if (!conversation) return;
  $('thread-title').textContent = conversation.createdAt ? conversationTitle(conversation) : '';
  $('thread-meta').textContent = '';
}

function isAtBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
}

/** One message; a reply still being written (`streaming`) gets a caret and no time. */
function messageItem(message) {
  const role = message.role === 'USER' ? 'user' : 'assistant';
  const item = el('li', `message ${role}`);
  item.dataset.id = message.id;
  item.dataset.role = role;
  item.append(el('div', 'bubble', message.content));
  const who = role === 'user' ? 'You' : 'Assistant';
  const meta = message.streaming ? `${who} · writing…` : `${who} · ${when(message.createdAt)}`;
  item.append(el('span', 'message-meta', meta));
  if (message.streaming) {
    item.classList.add('streaming');
    item.dataset.streaming = 'true';
    item.setAttribute('aria-busy', 'true');
  }
  return item;
}

/**
 * Draws the stored messages, oldest first, then the replies still being written, keeping the
 * view at the bottom when it was there.
 */
export function renderMessages(messages, drafts = []) {
  const list = $('messages');
  const atBottom = isAtBottom(list);
  list.textContent = '';
  for (const message of [...messages, ...drafts]) list.append(messageItem(message));
  const count = messages.length;
  $('thread-meta').textContent = count === 0 ? '' : `${count} message${count === 1 ? '' : 's'}`;
  if (atBottom || list.dataset.fresh === 'true') {
    list.scrollTop = list.scrollHeight;
    list.dataset.fresh = 'false';
  }
}

/** Shows a reply being written with its text so far: in place, or added at the end. */
export function renderDraft(draft) {
  const list = $('messages');
  const atBottom = isAtBottom(list);
  const shown = [...list.children].find((item) => item.dataset.id === draft.id);
  if (shown) {
    shown.querySelector('.bubble').textContent = draft.content;
  } else {
    list.append(messageItem(draft));
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

/** The next render jumps to the newest message (after opening a conversation). */
export function scrollToEndOnNextRender() {
  $('messages').dataset.fresh = 'true';
}

/** The line under the composer: `text`, with a button running `action` when one is given. */
export function showSendError(text, action) {
  const node = $('send-error');
  node.textContent = text || '';
  node.hidden = !text;
  if (text && action) {
    const button = el('button', 'link-button', action.label);
    button.type = 'button';
    button.addEventListener('click', action.run);
    node.append(' ', button);
  }
}

export function composerBusy(busy) {
  $('send').disabled = busy;
  $('send').textContent = busy ? 'Sending…' : 'Send';
}

export { $ };
