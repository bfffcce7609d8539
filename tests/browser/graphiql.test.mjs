// GraphiQL at /playground, in headless Chromium against the real server: it loads with no
// internet, runs a query, shows live subscription results (also for messages posted over
// REST), and passes a key typed in its header editor to both HTTP and the socket.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';

import {
  WAIT_MS,
  delivered,
  echoReply,
  launchBrowser,
  rest,
  screenshot,
  startServer,
  until,
  watch,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Opens GraphiQL on a fresh page and waits until its editors are ready. */
async function openGraphiql(server, path = '/playground') {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(WAIT_MS);
  const seen = watch(page, server.url);
  await page.goto(`${server.url}${path}`);
  await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ timeout: WAIT_MS });
  return { page, ...seen };
}

/**
 * Replaces the operation in the editor with `document` and runs it. GraphiQL takes edits in
 * with a delay: the tab takes the operation's name once it has, so the test waits for that.
 */
async function run(page, name, document) {
  await page.evaluate((text) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(text);
  }, document);
  await page.locator('.graphiql-tab-active', { hasText: name }).waitFor({ timeout: WAIT_MS });
  await page.locator('.graphiql-execute-button').click();
}

/** Opens the docs explorer at the Subscription type; fails unless the schema has loaded. */
async function browseDocs(page) {
  await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
  const docs = page.locator('.graphiql-plugin');
  await docs.getByText('Subscription', { exact: true }).click({ timeout: WAIT_MS });
  await docs.getByText('messageAdded', { exact: true }).waitFor({ timeout: WAIT_MS });
}

/** The response pane's JSON, or undefined while it is empty or not JSON. */
async function response(page) {
  const text = await page.evaluate(
    () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '',
  );
  try {
    return JSON.parse(text);
  } catch (_) {
    return undefined;
  }
}

async function responseEquals(page, expected) {
  let last;
  try {
    await until('the expected response', async () => {
      last = await response(page);
      return isDeepStrictEqual(last, expected);
    });
  } catch (error) {
    assert.deepEqual(last, expected, error.message);
  }
}

/**
 * Posts messages over REST until the page's subscription delivers one. The protocol has no
 * acknowledgement of a subscription, so its first delivery is the proof that it is registered;
 * a message posted before that may rightly be missed.
 */
async function waitUntilSubscribed(server, sockets, conversationId, key) {
  for (let attempt = 1; attempt <= 20; attempt += 1) {
    const content = `warm-up ${attempt}`;
    await rest(server, 'POST', `/api/conversations/${conversationId}/messages`, {
      body: { content },
      key,
      status: 201,
    });
    try {
      await until(content, () => delivered(sockets, content), 500);
      return;
    } catch (_) {
      // Posted before the subscription was registered: post another.
    }
  }
  throw new Error('the subscription never delivered a message');
}

describe('GraphiQL', () => {
  test('loads from this server alone at /, runs a query and shows the result', async () => {
    const server = await startServer();
    try {
      const created = await rest(server, 'POST', '/api/conversations', {
        body: { userId: 'alice' },
        status: 201,
      });
      const { page, problems } = await openGraphiql(server, '/');
      assert.equal(page.url(), `${server.url}/playground`);
      assert.equal(await page.title(), 'chatgate · GraphiQL');
      const icon = await page.evaluate(async () => {
        const link = document.querySelector('link[rel="icon"]');
        const answer = await fetch(link.href);
        return [new URL(link.href).pathname, answer.status, answer.headers.get('content-type')];
      });
      assert.deepEqual(icon, ['/favicon.ico', 200, 'image/x-icon']);

      await run(
        page,
        'AliceConversations',
        `query AliceConversations {
  conversations(userId: "alice") {
    total
    conversations {
      id
      userId
      messageCount
    }
  }
}`,
      );
      await responseEquals(page, {
        data: {
          conversations: {
            total: 1,
            conversations: [{ id: created.id, userId: 'alice', messageCount: 0 }],
          },
        },
      });

      await browseDocs(page);
      await screenshot(page, 'graphiql-query');
      assert.deepEqual(problems, []);
    } finally {
      await server.stop();
    }
  });

  test('a subscription shows a message posted over REST', async () => {
    const server = await startServer();
    try {
      const { id } = await rest(server, 'POST', '/api/conversations', {
        body: { userId: 'alice' },
        status: 201,
      });
      const { page, problems, sockets } = await openGraphiql(server);
      await run(page, 'Live', `subscription Live { messageAdded(conversationId: "${id}") { role content } }`);
      await waitUntilSubscribed(server, sockets, id);

      await rest(server, 'POST', `/api/conversations/${id}/messages`, {
        body: { content: 'Posted over REST' },
        status: 201,
      });
      // GraphiQL shows the latest result: the assistant's reply, after the user message.
      await responseEquals(page, {
        data: { messageAdded: { role: 'ASSISTANT', content: echoReply('Posted over REST') } },
      });
      assert.ok(delivered(sockets, 'Posted over REST'), 'the user message came live too');
      await screenshot(page, 'graphiql-subscription');
      assert.deepEqual(problems, []);
    } finally {
      await server.stop();
    }
  });

  test('with API keys, a key typed in the header editor reaches HTTP and the socket', async () => {
    const server = await startServer({ env: { API_KEYS: 'k1' } });
    try {
      const { id } = await rest(server, 'POST', '/api/conversations', {
        body: { userId: 'alice' },
        key: 'k1',
        status: 201,
      });
      const { page, problems, sockets } = await openGraphiql(server);
      // Without a key, the page explains what to do instead of sending doomed requests.
      await until('the explanation', async () =>
        JSON.stringify((await response(page)) ?? '').includes('This server needs an API key'),
      );
      await screenshot(page, 'graphiql-needs-key');

      const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
      await headers.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.type('{"X-API-Key": "k1"}');
      assert.equal(
        await headers.evaluate((node) => node.CodeMirror.getValue()),
        '{"X-API-Key": "k1"}',
      );
      // The new key makes GraphiQL fetch the schema again: the docs fill in.
      await browseDocs(page);

      await run(page, 'Count', `query Count { conversation(id: "${id}") { messageCount } }`);
      await responseEquals(page, { data: { conversation: { messageCount: 0 } } });

      await run(page, 'Live', `subscription Live { messageAdded(conversationId: "${id}") { role content } }`);
      await until('a socket', () => sockets.length > 0);
      await until('connection_init', () => sockets[0].sent.length > 0);
      assert.deepEqual(sockets[0].sent[0], { type: 'connection_init', payload: { 'X-API-Key': 'k1' } });
      await waitUntilSubscribed(server, sockets, id, 'k1');
      await rest(server, 'POST', `/api/conversations/${id}/messages`, {
        body: { content: 'Keyed and live' },
        key: 'k1',
        status: 201,
      });
      await responseEquals(page, {
        data: { messageAdded: { role: 'ASSISTANT', content: echoReply('Keyed and live') } },
      });
      await screenshot(page, 'graphiql-api-key');
      assert.deepEqual(problems, []);
    } finally {
      await server.stop();
    }
  });
});
