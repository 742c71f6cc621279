// SPDX-License-Identifier: MIT
// The official `openai` npm client, unchanged, against the llm service's
// /v1/chat/completions (plain and streaming), /v1/completions and /v1/models.
// Usage: node client.mjs http://127.0.0.1:PORT/v1 MODEL
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "unused-by-ai-semble", maxRetries: 0, timeout: 20000 });
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e?.stack ?? e}`);
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

await check("models.list()", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  expect(ids.includes("auto") && ids.includes(model), JSON.stringify(ids));
});

await check("chat.completions.create()", async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: "hello from node" },
    ],
    max_tokens: 32,
    temperature: 0.3,
  });
  expect(r.object === "chat.completion", r.object);
  expect(r.choices[0].message.content === "echo: hello from node", r.choices[0].message.content);
  expect(r.choices[0].finish_reason === "stop", r.choices[0].finish_reason);
  expect(r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, JSON.stringify(r.usage));
});

await check("chat.completions.create({stream: true}) with include_usage", async () => {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "stream to node please" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "", chunks = 0, usage = null, finish = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  expect(text === "echo: stream to node please", text);
  expect(chunks >= 5, `only ${chunks} chunks`);
  expect(finish === "stop", String(finish));
  expect(usage && usage.completion_tokens > 0, JSON.stringify(usage));
});

await check("chat.completions.stream() helper (finalChatCompletion)", async () => {
  const runner = client.beta?.chat?.completions?.stream
    ? client.beta.chat.completions.stream({ model, messages: [{ role: "user", content: "helper path" }] })
    : client.chat.completions.stream({ model, messages: [{ role: "user", content: "helper path" }] });
  const final = await runner.finalChatCompletion();
  expect(final.choices[0].message.content === "echo: helper path", final.choices[0].message.content);
});

await check("completions.create() (legacy)", async () => {
  const r = await client.completions.create({ model, prompt: "legacy prompt" });
  expect(r.choices[0].text === "echo: legacy prompt", r.choices[0].text);
});

await check("errors surface as APIError with the status", async () => {
  try {
    await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
    throw new Error("no error thrown");
  } catch (e) {
    expect(e instanceof OpenAI.APIError && e.status === 404, `${e}`);
  }
});

await check("a mid-stream backend failure surfaces as an error while iterating", async () => {
  const stream = await client.chat.completions.create({
    model: "fault-reset",
    messages: [{ role: "user", content: "one two three four" }],
    stream: true,
  });
  let text = "";
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    throw new Error("stream ended without an error: " + text);
  } catch (e) {
    expect(e instanceof OpenAI.APIError || /broke/.test(String(e)), String(e));
  }
});

console.log(`openai client: ${failed === 0 ? "all passed" : failed + " failed"}`);
process.exit(failed === 0 ? 0 : 1);
