// The chat page at /playground/chat, used as a person would in headless Chromium against the
// real server: sign in, start a conversation, send messages, see messages from elsewhere arrive
// live, live through a server restart, and use an API key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

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

const GREETING =
  'Hello! I\'m the chatgate assistant. Ask me the time or the date, or type "help" to see what I can do.';

/** Opens the chat page in a fresh browser context and signs in as `userId`. */
async function signIn(server, userId, apiKey) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const seen = watch(page, server.url);
  await page.goto(`${server.url}/playground/chat`);
  await page.getByLabel('User id').fill(userId);
  if (apiKey) await page.getByLabel(/API key/).fill(apiKey);
  await page.getByRole('button', { name: 'Open my conversations' }).click();
  await page.getByText(`Signed in as ${userId}`).waitFor({ timeout: WAIT_MS });
  return { context, page, ...seen };
}

/** Starts a conversation from the page; resolves to its id once the page follows it live. */
async function startConversation(page) {
  await page.getByRole('button', { name: 'New conversation' }).click();
  await page.getByText('No messages yet. Say hello!').waitFor({ timeout: WAIT_MS });
  await page.locator('#status[data-state="live"]').waitFor({ timeout: WAIT_MS });
  return new URL(page.url()).hash.slice(1);
}

/** Sends `text` from the composer with the Enter key. */
async function send(page, text) {
  await page.getByLabel('Your message').fill(text);
  await page.getByLabel('Your message').press('Enter');
}

/** The conversation on screen as [role, text] pairs, oldest first. */
function shownMessages(page) {
  return page.locator('.message').evaluateAll((items) =>
    items.map((item) => [item.dataset.role, item.querySelector('.bubble').textContent]),
  );
}

async function messagesAre(page, expected) {
  let last;
  try {
    await until('the expected messages', async () => {
      last = await shownMessages(page);
      return JSON.stringify(last) === JSON.stringify(expected);
    });
  } catch (error) {
    assert.deepEqual(last, expected, error.message);
  }
}

describe('chat page', () => {
  test('sending a message shows it and the reply as text, and lists the conversation', async () => {
    const server = await startServer();
    try {
      const { page, problems } = await signIn(server, 'alice');
      await page.getByText('No conversations yet.').waitFor({ timeout: WAIT_MS });
      await startConversation(page);
      const text = 'Hi <b>there</b> & <script>alert(1)</script>';
      await send(page, text);
      await messagesAre(page, [
        ['user', text],
        ['assistant', echoReply(text)],
      ]);
      assert.equal(await page.locator('.bubble b, .bubble script').count(), 0, 'markup stays text');
      assert.equal(await page.getByLabel('Your message').inputValue(), '', 'the composer is cleared');
      const listed = page.locator('.conversation-list button');
      assert.equal(await listed.count(), 1);
      assert.equal(await listed.locator('.conversation-preview').textContent(), echoReply(text));
      const icon = await page.evaluate(() => document.querySelector('link[rel="icon"]').href);
      assert.equal(icon, `${server.url}/favicon.ico`);
      assert.deepEqual(problems, []);
    } finally {
      await server.stop();
    }
  });

  test('messages from REST and from another tab appear live, and a deletion clears the page', async () => {
    const server = await startServer();
    try {
      const { context, page, problems, sockets } = await signIn(server, 'alice');
      const id = await startConversation(page);
      await page.evaluate(() => {
        window.notReloaded = true;
      });
      // The first live delivery shows the subscription is registered (the protocol has no
      // acknowledgement for it); after that nothing may be missed.
      await send(page, 'hello');
      await messagesAre(page, [
        ['user', 'hello'],
        ['assistant', GREETING],
      ]);
      await until('the live copy of the reply', () => delivered(sockets, GREETING));

      await rest(server, 'POST', `/api/conversations/${id}/messages`, {
        body: { content: 'Posted over REST' },
        status: 201,
      });
      const afterRest = [
        ['user', 'hello'],
        ['assistant', GREETING],
        ['user', 'Posted over REST'],
        ['assistant', echoReply('Posted over REST')],
      ];
      await messagesAre(page, afterRest);

      const other = await context.newPage();
      const otherSeen = watch(other, server.url);
      await other.goto(`${server.url}/playground/chat#${id}`);
      await messagesAre(other, afterRest);
      await send(other, 'From the other tab');
      await messagesAre(page, [
        ...afterRest,
        ['user', 'From the other tab'],
        ['assistant', echoReply('From the other tab')],
      ]);
      assert.equal(await page.evaluate(() => window.notReloaded), true);
      await screenshot(page, 'chat-conversation');

      // Deleted elsewhere: both tabs clear it and say so.
      await rest(server, 'DELETE', `/api/conversations/${id}`, { status: 204 });
      for (const tab of [page, other]) {
        await tab.getByRole('alert').getByText('That conversation no longer exists').waitFor();
        assert.equal(await tab.locator('.message').count(), 0);
        await tab.getByText('No conversations yet.').waitFor();
      }
      assert.deepEqual(problems, []);
      assert.deepEqual(otherSeen.problems, []);
    } finally {
      await server.stop();
    }
  });

  test('after a server restart the page reconnects and says the conversation is gone', async () => {
    let server = await startServer();
    try {
      const { page, problems } = await signIn(server, 'alice');
      await startConversation(page);
      // The first live message makes the page refetch what it shows (the protocol does not
      // confirm subscriptions); let that finish so the restart cuts no request short.
      const caughtUp = page.waitForResponse((r) =>
        (r.request().postData() ?? '').includes('query ChatConversations('),
      );
      await send(page, 'hello');
      await messagesAre(page, [
        ['user', 'hello'],
        ['assistant', GREETING],
      ]);
      await caughtUp;

      // The in-memory store starts empty again: the open conversation no longer exists.
      server = await server.restart();
      await page.getByRole('alert').getByText('That conversation no longer exists').waitFor({ timeout: WAIT_MS });
      await page.locator('#status[data-state="live"]').waitFor({ timeout: WAIT_MS });
      assert.equal(await page.locator('.message').count(), 0);
      await page.getByText('No conversation selected').waitFor({ timeout: WAIT_MS });
      await screenshot(page, 'chat-after-restart');

      // The reconnected page works: a new conversation, a message, a reply.
      await startConversation(page);
      await send(page, 'back again');
      await messagesAre(page, [
        ['user', 'back again'],
        ['assistant', echoReply('back again')],
      ]);
      // While the server was down, reconnecting could fail; nothing else may.
      const refused = /^console error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/graphql' failed: .*ERR_CONNECTION_REFUSED$/;
      assert.deepEqual(problems.filter((p) => !refused.test(p)), []);
    } finally {
      await server.stop();
    }
  });

  test('with API keys, the key given at sign-in opens the conversations and the live socket', async () => {
    const server = await startServer({ env: { API_KEYS: 'k1,k2' } });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.url}/playground/chat`);
      await page.getByText('(this server requires one)').waitFor({ timeout: WAIT_MS });
      await context.close();

      const { page: chat, problems, sockets } = await signIn(server, 'alice', 'k2');
      await startConversation(chat);
      assert.deepEqual(sockets[0].sent[0], { type: 'connection_init', payload: { apiKey: 'k2' } });
      await send(chat, 'hello');
      await messagesAre(chat, [
        ['user', 'hello'],
        ['assistant', GREETING],
      ]);
      assert.deepEqual(problems, []);
    } finally {
      await server.stop();
    }
  });
});
