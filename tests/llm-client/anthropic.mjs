// SPDX-License-Identifier: MIT
// The official `@anthropic-ai/sdk` npm client, unchanged, against the llm service's
// POST /v1/messages, streamed and not, with tools; the models behind are run.sh's echo-
// and tool-KIND, a backend of any kind.
// Usage: node anthropic.mjs http://127.0.0.1:PORT KIND [TOKEN orchestrator]
// With "orchestrator": through the orchestrator's /v1/messages, TOKEN sent as the client's
// bearer auth token (Authorization: Bearer) and as its apiKey (x-api-key), and its
// X-Job-ID checked.
import Anthropic from "@anthropic-ai/sdk";
import { check, done, expect } from "./tap.mjs";

const [baseURL, kind, token, via = "llm"] = process.argv.slice(2);
const client = new Anthropic(
  via === "orchestrator"
    ? { baseURL, apiKey: null, authToken: token, maxRetries: 0, timeout: 20000 }
    : { baseURL, apiKey: "unused-by-ai-semble", maxRetries: 0, timeout: 20000 },
);
const tools = [
  {
    name: "get_weather",
    description: "The weather at a place",
    input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  },
];
await check("messages.create()", async () => {
  const m = await client.messages.create({
    model: `echo-${kind}`,
    max_tokens: 64,
    system: "be brief",
    messages: [{ role: "user", content: "hello from the anthropic sdk" }],
  });
  expect(m.type === "message" && m.role === "assistant", JSON.stringify(m));
  expect(m.content.length === 1 && m.content[0].text === "echo: hello from the anthropic sdk", JSON.stringify(m.content));
  expect(m.stop_reason === "end_turn", m.stop_reason);
  expect(m.usage.input_tokens > 0 && m.usage.output_tokens > 0, JSON.stringify(m.usage));
});

await check("messages.create({stream: true}): the raw events", async () => {
  const stream = await client.messages.create({
    model: `echo-${kind}`,
    max_tokens: 64,
    stream: true,
    messages: [{ role: "user", content: "stream to the sdk" }],
  });
  const types = [];
  let text = "";
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
  }
  expect(types[0] === "message_start" && types[types.length - 1] === "message_stop", types.join(","));
  expect(text === "echo: stream to the sdk", text);
});

await check("messages.stream() helper: finalMessage() and text events", async () => {
  let seen = "";
  const stream = client.messages.stream({
    model: `echo-${kind}`,
    max_tokens: 64,
    messages: [{ role: "user", content: "helper path" }],
  });
  stream.on("text", (t) => (seen += t));
  const m = await stream.finalMessage();
  expect(m.content[0].text === "echo: helper path" && seen === "echo: helper path", JSON.stringify(m.content) + seen);
  expect(m.stop_reason === "end_turn" && m.usage.output_tokens > 0, JSON.stringify(m));
});

await check("tools: a tool_use / tool_result round trip", async () => {
  const messages = [{ role: "user", content: "weather in Porto" }];
  const m1 = await client.messages.create({ model: `tool-${kind}`, max_tokens: 64, messages, tools });
  expect(m1.stop_reason === "tool_use", m1.stop_reason);
  const use = m1.content.find((b) => b.type === "tool_use");
  expect(use && use.name === "get_weather" && use.input.text === "weather in Porto", JSON.stringify(m1.content));
  messages.push({ role: "assistant", content: m1.content });
  messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "foggy" }] });
  const m2 = await client.messages.create({ model: `tool-${kind}`, max_tokens: 64, messages, tools });
  expect(m2.content[0].text === "tool said: foggy", JSON.stringify(m2.content));
});

await check("tools, streamed: the tool_use input assembled from input_json_delta", async () => {
  let json = "";
  const stream = client.messages.stream({
    model: `tool-${kind}`,
    max_tokens: 64,
    messages: [{ role: "user", content: "weather in Bergen" }],
    tools,
  });
  stream.on("inputJson", (partial) => (json += partial));
  const m = await stream.finalMessage();
  const use = m.content.find((b) => b.type === "tool_use");
  expect(use && use.input.text === "weather in Bergen", JSON.stringify(m.content));
  expect(JSON.parse(json).text === "weather in Bergen" && m.stop_reason === "tool_use", json);
});

await check("errors surface as APIError with the status", async () => {
  try {
    await client.messages.create({ model: "no-such-model", max_tokens: 8, messages: [{ role: "user", content: "x" }] });
    throw new Error("no error thrown");
  } catch (e) {
    expect(e instanceof Anthropic.APIError && e.status === 404, `${e}`);
  }
});

if (via === "orchestrator") {
  await check("through the orchestrator: messages.create() is a job, its id in X-Job-ID", async () => {
    const { data, response } = await client.messages
      .create({ model: `echo-${kind}`, max_tokens: 16, messages: [{ role: "user", content: "which job" }] })
      .withResponse();
    expect(data.content[0].text === "echo: which job", JSON.stringify(data.content));
    expect(/^[0-9a-f-]{36}$/.test(response.headers.get("x-job-id") ?? ""), String(response.headers.get("x-job-id")));
  });
  await check("through the orchestrator: the token as apiKey (x-api-key) works too; a wrong one is 401", async () => {
    const keyed = new Anthropic({ baseURL, apiKey: token, maxRetries: 0, timeout: 20000 });
    const r = await keyed.messages.create({
      model: `echo-${kind}`,
      max_tokens: 16,
      messages: [{ role: "user", content: "keyed" }],
    });
    expect(r.content[0].text === "echo: keyed", JSON.stringify(r.content));
    const stranger = new Anthropic({ baseURL, apiKey: "sk-ant-not-ours", maxRetries: 0, timeout: 20000 });
    try {
      await stranger.messages.create({ model: `echo-${kind}`, max_tokens: 16, messages: [{ role: "user", content: "x" }] });
      throw new Error("a wrong x-api-key was accepted");
    } catch (e) {
      expect(e instanceof Anthropic.AuthenticationError && e.status === 401, String(e));
    }
  });
}

done(via === "orchestrator" ? "anthropic client through the orchestrator" : "anthropic client");
