// The chat page with a real streaming assistant: the server runs with ASSISTANT=openai against
// a model server inside the test that writes its replies one word at a time, and can stop
// half-way, so the test sees the reply grow on the page word by word.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { WAIT_MS, launchBrowser, screenshot, startFakeModel, startServer, until, watch } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function withModel(env, run) {
  const model = await startFakeModel();
  const server = await startServer({
    env: { ASSISTANT: 'openai', OPENAI_BASE_URL: model.url, OPENAI_MODEL: 'browser-model', ...env },
  });
  try {
    await run(server, model);
  } finally {
    await server.stop();
    await model.close();
  }
}

async function openChat(server) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const seen = watch(page, server.url);
  await page.goto(`${server.url}/playground/chat`);
  await page.getByLabel('User id').fill('alice');
  await page.getByRole('button', { name: 'Open my conversations' }).click();
  await page.getByRole('button', { name: 'New conversation' }).click();
  await page.getByText('No messages yet. Say hello!').waitFor();
  await page.locator('#status[data-state="live"]').waitFor();
  return { page, ...seen };
}

async function send(page, text) {
  await page.getByLabel('Your message').fill(text);
  await page.getByLabel('Your message').press('Enter');
}

/** The conversation on screen as [role, text, being written] triples, oldest first. */
function shown(page) {
  return page.locator('.message').evaluateAll((items) =>
    items.map((item) => [
      item.dataset.role,
      item.querySelector('.bubble').textContent,
      item.dataset.streaming === 'true',
    ]),
  );
}

async function shows(page, expected) {
  let last;
  try {
    await until(JSON.stringify(expected), async () => {
      last = await shown(page);
      return JSON.stringify(last) === JSON.stringify(expected);
    });
  } catch (error) {
    assert.deepEqual(last, expected, error.message);
  }
}

describe('streamed replies on the chat page', () => {
  test('a reply appears word by word as the model writes it, then stays as stored', async () => {
    await withModel({}, async (server, model) => {
      model.script({ words: ['Once', ' upon', ' a', ' time.'], holdAfter: [1, 2] });
      const { page, problems } = await openChat(server);
      await send(page, 'Tell me a story');

      // The model stops after each of the first words: the page shows the reply so far.
      await shows(page, [
        ['user', 'Tell me a story', false],
        ['assistant', 'Once', true],
      ]);
      await page.locator('.message.streaming .message-meta').getByText('writing…').waitFor();
      await screenshot(page, 'chat-streaming');
      model.next();
      await shows(page, [
        ['user', 'Tell me a story', false],
        ['assistant', 'Once upon', true],
      ]);
      model.next();
      await shows(page, [
        ['user', 'Tell me a story', false],
        ['assistant', 'Once upon a time.', false],
      ]);
      assert.equal(await page.getByLabel('Your message').inputValue(), '', 'the composer is cleared');
      // What the page shows is what was stored.
      await page.reload();
      await page.locator('#status[data-state="live"]').waitFor();
      await shows(page, [
        ['user', 'Tell me a story', false],
        ['assistant', 'Once upon a time.', false],
      ]);
      assert.equal(model.requests.length, 1);
      assert.deepEqual(problems, []);
    });
  });

  test('a reply the model failed to write can be asked for again', async () => {
    await withModel({ OPENAI_RETRIES: '0' }, async (server, model) => {
      model.script({ status: 500 });
      model.script({ words: ['Here', ' it', ' is.'] });
      const { page, problems } = await openChat(server);
      await send(page, 'hello');
      await page.getByRole('alert').getByText('The assistant could not answer').waitFor();
      await shows(page, [['user', 'hello', false]]);
      assert.equal(await page.getByLabel('Your message').inputValue(), '', 'the message was stored');

      await page.getByRole('button', { name: 'Ask again' }).click();
      await shows(page, [
        ['user', 'hello', false],
        ['assistant', 'Here it is.', false],
      ]);
      assert.equal(await page.getByRole('alert').filter({ hasText: 'could not answer' }).count(), 0);
      assert.equal(model.requests.length, 2);
      assert.deepEqual(problems, []);
    });
  });
});
