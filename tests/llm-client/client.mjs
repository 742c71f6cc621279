// SPDX-License-Identifier: MIT
// The official `openai` npm client, unchanged, against the llm service's
// /v1/chat/completions (plain and streaming, tools, structured output), /v1/completions,
// /v1/embeddings and /v1/models; the models behind are run.sh's echo-, tool-, json- and
// embed-KIND.
// Usage: node client.mjs http://127.0.0.1:PORT/v1 KIND [API_KEY orchestrator]
// With "orchestrator": the same calls through the orchestrator's /v1 (API_KEY is its bearer
// token), plus its X-Job-ID on plain and streamed answers and the 401 of a wrong key.
import { createHash } from "node:crypto";
import OpenAI from "openai";
import { check, done, expect } from "./tap.mjs";

const [baseURL, kind, apiKey = "unused-by-ai-semble", via = "llm"] = process.argv.slice(2);
const model = `echo-${kind}`;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });
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

const weather = {
  type: "object",
  properties: { text: { type: "string" } },
  required: ["text"],
};

await check("tools: a tool call round trip with chat.completions.create()", async () => {
  const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: weather } }];
  const messages = [{ role: "user", content: "weather in Paris" }];
  const r1 = await client.chat.completions.create({ model: `tool-${kind}`, messages, tools });
  const msg = r1.choices[0].message;
  expect(r1.choices[0].finish_reason === "tool_calls", r1.choices[0].finish_reason);
  const call = msg.tool_calls[0];
  expect(call.type === "function" && call.function.name === "get_weather", JSON.stringify(call));
  expect(JSON.parse(call.function.arguments).text === "weather in Paris", call.function.arguments);
  messages.push(msg, { role: "tool", tool_call_id: call.id, content: "sunny, 21C" });
  const r2 = await client.chat.completions.create({ model: `tool-${kind}`, messages, tools });
  expect(r2.choices[0].message.content === "tool said: sunny, 21C", r2.choices[0].message.content);
});

await check("tools: chat.completions.runTools() streams, calls the function and answers", async () => {
  const seen = [];
  const runner = client.chat.completions.runTools({
    model: `tool-${kind}`,
    stream: true,
    messages: [{ role: "user", content: "weather in Kyoto" }],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather",
          parameters: weather,
          parse: JSON.parse,
          function: (args) => {
            seen.push(args.text);
            return "cloudy";
          },
        },
      },
    ],
  });
  const text = await runner.finalContent();
  expect(seen.length === 1 && seen[0] === "weather in Kyoto", JSON.stringify(seen));
  expect(text === "tool said: cloudy", String(text));
});

await check("response_format json_schema", async () => {
  const schema = {
    type: "object",
    properties: { city: { type: "string" }, degrees: { type: "number" } },
    required: ["city", "degrees"],
    additionalProperties: false,
  };
  const r = await client.chat.completions.create({
    model: `json-${kind}`,
    messages: [{ role: "user", content: "Lyon" }],
    response_format: { type: "json_schema", json_schema: { name: "weather", schema, strict: true } },
  });
  const got = JSON.parse(r.choices[0].message.content);
  expect(got.city === "x" && got.degrees === 1.5, r.choices[0].message.content);
});

// The fake's vector of a text: its SHA-256 bytes b as (b - 128) / 128, rounded to 6
// decimals half to even as Python's round() does.
function fakeVector(text, dims = 8) {
  const h = createHash("sha256").update(text).digest();
  const round6 = (x) => {
    const y = x * 1e6;
    return (Math.abs(y % 1) === 0.5 ? 2 * Math.round(y / 2) : Math.round(y)) / 1e6;
  };
  return Array.from({ length: dims }, (_, i) => round6((h[i % 32] - 128) / 128));
}

if (kind === "claude") {
  await check("embeddings: an Anthropic backend has none, an echo model is refused with 422", async () => {
    try {
      await client.embeddings.create({ model: "echo-claude", input: "x" });
      throw new Error("no error thrown");
    } catch (e) {
      expect(e instanceof OpenAI.APIError && e.status === 422, `${e}`);
    }
  });
} else {
  await check("embeddings.create(): base64 by default (decoded by the client), float, dimensions", async () => {
    const r = await client.embeddings.create({ model: `embed-${kind}`, input: ["one two", "three"] });
    expect(r.data.length === 2 && r.data[1].index === 1, JSON.stringify(r.data.map((d) => d.index)));
    const want = fakeVector("three");
    expect(r.data[1].embedding.every((v, i) => Math.abs(v - want[i]) < 1e-6), JSON.stringify(r.data[1].embedding));
    expect(r.usage.prompt_tokens === 3, JSON.stringify(r.usage));
    const f = await client.embeddings.create({ model: `embed-${kind}`, input: "d", encoding_format: "float", dimensions: 4 });
    expect(JSON.stringify(f.data[0].embedding) === JSON.stringify(fakeVector("d", 4)), JSON.stringify(f.data[0]));
  });
}

if (via === "orchestrator") {
  const jobId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  await check("through the orchestrator: each call a job, its id in X-Job-ID (plain and streamed)", async () => {
    const messages = [{ role: "user", content: "which job" }];
    const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
    expect(data.choices[0].message.content === "echo: which job", JSON.stringify(data));
    expect(jobId.test(response.headers.get("x-job-id") ?? ""), String(response.headers.get("x-job-id")));
    const s = await client.chat.completions.create({ model, messages, stream: true }).withResponse();
    let text = "";
    for await (const chunk of s.data) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text === "echo: which job", text);
    expect(jobId.test(s.response.headers.get("x-job-id") ?? ""), String(s.response.headers.get("x-job-id")));
    expect(s.response.headers.get("x-job-id") !== response.headers.get("x-job-id"), "one job per call");
  });
  await check("through the orchestrator: a wrong API key is an AuthenticationError (401)", async () => {
    const stranger = new OpenAI({ baseURL, apiKey: "not-a-token", maxRetries: 0, timeout: 20000 });
    try {
      await stranger.chat.completions.create({ model, messages: [{ role: "user", content: "x" }] });
      throw new Error("no error thrown");
    } catch (e) {
      expect(e instanceof OpenAI.AuthenticationError && e.status === 401, `${e}`);
    }
  });
}

done(via === "orchestrator" ? "openai client through the orchestrator" : "openai client");
