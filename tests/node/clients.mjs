// The official Node SDKs against `python -m llmlab.sim serve`: one JSON line per check.
// Run by tests/sim/test_node_clients.py with ANTHROPIC_BASE_URL / OPENAI_BASE_URL set.
import Anthropic from "@anthropic-ai/sdk";
import { betaTool } from "@anthropic-ai/sdk/helpers/beta/json-schema";
import { jsonSchemaOutputFormat } from "@anthropic-ai/sdk/helpers/json-schema";
import OpenAI from "openai";

const anthropic = new Anthropic({ apiKey: "sk-ant-node-test", maxRetries: 0 });
const openai = new OpenAI({ apiKey: "sk-node-test", maxRetries: 0 });
const CLAUDE = "claude-sonnet-4-6";
const GPT = "gpt-4.1-mini";
const USER = [{ role: "user", content: "Summarise the checkout incident runbook in a sentence." }];
const WEATHER = {
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
  additionalProperties: false,
};
const TRIAGE = {
  type: "object",
  properties: {
    severity: { type: "string", enum: ["sev1", "sev2", "sev3", "sev4"] },
    summary: { type: "string" },
  },
  required: ["severity", "summary"],
  additionalProperties: false,
};

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const checks = {
  async "anthropic messages.create"() {
    const m = await anthropic.messages.create({ model: CLAUDE, max_tokens: 30, messages: USER });
    assert(m.id.startsWith("msg_") && m.content[0].type === "text", `unexpected message ${m.id}`);
    assert(m.usage.output_tokens > 0, "no output tokens");
  },
  async "anthropic messages.stream"() {
    const stream = anthropic.messages.stream({ model: CLAUDE, max_tokens: 30, messages: USER });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    assert(text.length > 0 && text === final.content[0].text, "streamed text differs from the final message");
  },
  async "anthropic forced tool"() {
    const m = await anthropic.messages.create({
      model: CLAUDE,
      max_tokens: 100,
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [{ name: "get_weather", description: "Weather for a city", input_schema: WEATHER }],
      tool_choice: { type: "tool", name: "get_weather" },
    });
    const use = m.content.find((b) => b.type === "tool_use");
    assert(use && typeof use.input.city === "string", "no get_weather tool_use with a city");
  },
  async "anthropic messages.parse (output_config json_schema)"() {
    const m = await anthropic.messages.parse({
      model: CLAUDE,
      max_tokens: 200,
      messages: [{ role: "user", content: "Triage: checkout is down for every customer." }],
      output_config: { format: jsonSchemaOutputFormat(TRIAGE) },
    });
    assert(m.parsed_output && TRIAGE.properties.severity.enum.includes(m.parsed_output.severity),
      `parsed_output ${JSON.stringify(m.parsed_output)}`);
  },
  async "anthropic count_tokens and models.list"() {
    const counted = await anthropic.messages.countTokens({ model: CLAUDE, messages: USER });
    assert(counted.input_tokens > 0, "no input tokens counted");
    const ids = [];
    for await (const model of anthropic.models.list()) ids.push(model.id);
    assert(ids.includes(CLAUDE), `models.list lacks ${CLAUDE}`);
  },
  async "anthropic extended thinking"() {
    const m = await anthropic.messages.create({
      model: CLAUDE,
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: USER,
    });
    const thinking = m.content.find((b) => b.type === "thinking");
    assert(thinking && thinking.signature, "no signed thinking block");
  },
  async "anthropic beta toolRunner (two turns)"() {
    let ran = 0;
    const weather = betaTool({
      name: "get_weather",
      description: "Weather for a city",
      inputSchema: WEATHER,
      run: async ({ city }) => {
        ran += 1;
        return `Sunny in ${city}`;
      },
    });
    const runner = anthropic.beta.messages.toolRunner({
      model: CLAUDE,
      max_tokens: 200,
      max_iterations: 3,
      messages: [{ role: "user", content: "What is the weather in Paris? Use the tool." }],
      tools: [weather],
      tool_choice: { type: "auto" },
    });
    const final = await runner.runUntilDone();
    assert(ran >= 1, "the tool never ran");
    assert(final.role === "assistant", "no final assistant message");
  },
  async "anthropic typed 400"() {
    try {
      await anthropic.messages.create({ model: CLAUDE, max_tokens: 10, messages: USER, foo: 1 });
    } catch (err) {
      assert(err instanceof Anthropic.BadRequestError, `got ${err.constructor.name}`);
      assert(/foo/.test(err.message), `message does not name the field: ${err.message}`);
      return;
    }
    throw new Error("an unknown field was accepted");
  },
  async "openai chat.completions.create"() {
    const c = await openai.chat.completions.create({ model: GPT, messages: USER, max_tokens: 30, temperature: 0 });
    assert(c.choices[0].message.content.length > 0, "empty completion");
    assert(Math.abs(c.created - Date.now() / 1000) < 3600, `created ${c.created} is not now`);
  },
  async "openai chat stream"() {
    const stream = await openai.chat.completions.create({
      model: GPT, messages: USER, max_tokens: 30, stream: true, stream_options: { include_usage: true },
    });
    let text = "";
    let usage = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert(text.length > 0 && usage && usage.completion_tokens > 0, "no text or no usage chunk");
  },
  async "openai chat runTools"() {
    let ran = 0;
    const runner = openai.chat.completions.runTools({
      model: GPT,
      max_tokens: 100,
      messages: [{ role: "user", content: "What is the weather in Paris? Use the tool." }],
      tools: [{
        type: "function",
        function: {
          name: "get_weather", description: "Weather for a city", parameters: WEATHER,
          function: ({ city }) => { ran += 1; return `Sunny in ${city}`; }, parse: JSON.parse,
        },
      }],
    });
    await runner.finalContent();
    assert(ran >= 1, "the tool never ran");
  },
  async "openai responses.create (json_schema)"() {
    const r = await openai.responses.create({
      model: GPT,
      input: "Triage: checkout is down for every customer.",
      max_output_tokens: 200,
      text: { format: { type: "json_schema", name: "triage", schema: TRIAGE, strict: true } },
    });
    const parsed = JSON.parse(r.output_text);
    assert(TRIAGE.properties.severity.enum.includes(parsed.severity), `output ${r.output_text}`);
    assert(r.usage.input_tokens > 0, "no usage");
  },
  async "openai responses.stream"() {
    const stream = openai.responses.stream({ model: GPT, input: "Summarise the search incident.", max_output_tokens: 40 });
    let text = "";
    stream.on("response.output_text.delta", (e) => (text += e.delta));
    const final = await stream.finalResponse();
    assert(text.length > 0 && text === final.output_text, "streamed text differs from output_text");
  },
  async "openai typed 400"() {
    try {
      await openai.chat.completions.create({ model: GPT, messages: USER, max_tokens: 10, foo: 1 });
    } catch (err) {
      assert(err instanceof OpenAI.BadRequestError, `got ${err.constructor.name}`);
      assert(/foo/.test(err.message), `message does not name the field: ${err.message}`);
      return;
    }
    throw new Error("an unknown field was accepted");
  },
};

for (const [name, check] of Object.entries(checks)) {
  try {
    await check();
    console.log(JSON.stringify({ name, ok: true }));
  } catch (err) {
    console.log(JSON.stringify({ name, ok: false, detail: String(err && err.stack || err).slice(0, 800) }));
  }
}
