// Starts GraphiQL against this server: queries and mutations over HTTP POST /graphql,
// subscriptions over a WebSocket on the same path (subprotocol graphql-transport-ws).
//
// API keys: whatever is typed in the Headers tab goes with every HTTP request, and GraphiQL's
// toolkit copies the same headers into each subscription socket's connection_init payload
// (e.g. {"X-API-Key": "k"}), which the server accepts like {"apiKey": "k"}. When the key in
// the headers changes the page builds a new fetcher, which makes GraphiQL fetch the schema
// again, so the docs explorer fills in as soon as a valid key is typed. While the server wants
// a key and none is typed, the fetcher answers with an explanation instead of sending a
// request bound to fail.
'use strict';

(function () {
  const e = React.createElement;
  const httpUrl = new URL('/graphql', window.location.href).href;
  const socketUrl = httpUrl.replace(/^http/, 'ws');

  const NEED_KEY =
    'This server needs an API key: type it as the value of X-API-Key in the Headers tab ' +
    'below (an Authorization header with Bearer and the key works too).';

  const DEFAULT_QUERY = `# Welcome to chatgate's GraphiQL.
#
# Run: the play button or Ctrl+Enter (with
# several operations, pick one from its list).
# Docs: the top-left icon.
#
# Live: run OnMessage with a conversation id,
# then send a message from another tab, from
# the chat page (/playground/chat) or by REST.

query Conversations($userId: String! = "alice") {
  conversations(userId: $userId, limit: 10) {
    total
    conversations {
      id
      createdAt
      messageCount
    }
  }
}

mutation StartConversation($userId: String! = "alice") {
  createConversation(input: { userId: $userId }) {
    id
  }
}

mutation Send($conversationId: ID!, $content: String! = "Hello!") {
  sendMessage(input: { conversationId: $conversationId, content: $content }) {
    userMessage { content createdAt }
    assistantMessage { content createdAt }
  }
}

subscription OnMessage($conversationId: ID!) {
  messageAdded(conversationId: $conversationId) {
    role
    content
    createdAt
  }
}
`;

  // The key in GraphiQL's headers (an object, or the editor's JSON text), or "" when none.
  function keyIn(headers) {
    let parsed = headers;
    if (typeof headers === 'string') {
      try {
        parsed = headers.trim() === '' ? {} : JSON.parse(headers);
      } catch (_) {
        return null; // Half-typed JSON: keep what we had.
      }
    }
    if (!parsed || typeof parsed !== 'object') return '';
    for (const [name, value] of Object.entries(parsed)) {
      const lower = name.toLowerCase();
      if (typeof value !== 'string') continue;
      if (lower === 'x-api-key' && value.trim() !== '') return value.trim();
      if (lower === 'authorization') {
        const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
        if (match) return match[1];
      }
    }
    return '';
  }

  function buildFetcher(keyRequired) {
    const toolkit = GraphiQL.createFetcher({ url: httpUrl, subscriptionUrl: socketUrl });
    return function fetcher(params, options) {
      if (keyRequired && !keyIn((options && options.headers) || {})) {
        return Promise.resolve({ errors: [{ message: NEED_KEY }] });
      }
      return toolkit(params, options);
    };
  }

  function logo() {
    return e(
      GraphiQL.Logo,
      null,
      e(
        'span',
        { className: 'chatgate-logo' },
        e('strong', null, 'chatgate'),
        e('a', { href: '/playground/chat' }, 'Open the chat page →'),
      ),
    );
  }

  async function serverConfig() {
    try {
      const response = await fetch('/playground/config.json', { cache: 'no-store' });
      if (response.ok) return await response.json();
    } catch (_) {
      // Unreachable server: GraphiQL will show the network error on its first request.
    }
    return { apiKeyRequired: false };
  }

  async function start() {
    const config = await serverConfig();
    const keyRequired = config.apiKeyRequired === true;
    const container = document.getElementById('graphiql');
    container.classList.remove('page-loading');
    container.textContent = '';
    const root = ReactDOM.createRoot(container);

    let key = '';
    let fetcher = buildFetcher(keyRequired);
    let pending = null;

    function onEditHeaders(text) {
      window.clearTimeout(pending);
      pending = window.setTimeout(() => {
        const typed = keyIn(text);
        if (typed === null || typed === key) return;
        key = typed;
        fetcher = buildFetcher(keyRequired);
        render();
      }, 400);
    }

    function render() {
      root.render(
        e(
          GraphiQL,
          {
            fetcher,
            defaultQuery: DEFAULT_QUERY,
            defaultHeaders: keyRequired ? '{\n  "X-API-Key": ""\n}' : undefined,
            defaultEditorToolsVisibility: keyRequired ? 'headers' : undefined,
            onEditHeaders,
          },
          logo(),
        ),
      );
    }

    render();
  }

  start();
})();
