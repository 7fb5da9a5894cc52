// Loopback capture server + the four JS clients, each driving a multi-turn conversation with
// tool calls, an image and assistant history through it. Writes each request body it receives.
import http from 'node:http';
import fs from 'node:fs';
import OpenAI from 'openai';
import { generateText, tool, jsonSchema, stepCountIs } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const IMG = 'data:image/png;base64,' + PNG;
let bodies = [];
let n = 0;
const server = http.createServer((req, res) => {
  let chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    bodies.push(body);
    const last = body.messages[body.messages.length - 1];
    n++;
    // What the gateway answers: a tool call with its thought signature, or text with reasoning.
    const message = last.role === 'tool'
      ? { role: 'assistant', content: 'It is sunny in Paris.', reasoning_content: 'The tool said sunny.', refusal: null, annotations: [] }
      : { role: 'assistant', content: null, refusal: null, annotations: [],
          tool_calls: [{ id: 'call_' + n + '__ts__c2ln', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
                         extra_content: { google: { thought_signature: 'c2ln' } } }],
          extra_content: { google: { thought_signature: 'c2ln' } } };
    const resp = { id: 'chatcmpl-' + n, object: 'chat.completion', created: 1700000000, model: body.model,
      choices: [{ index: 0, message, finish_reason: message.tool_calls ? 'tool_calls' : 'stop', logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(resp));
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/v1`;
const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

function save(name) {
  fs.writeFileSync(`out/${name}.json`, JSON.stringify(bodies, null, 1) + '\n');
  bodies = [];
}
fs.mkdirSync('out', { recursive: true });

// openai (node): the documented tool loop, echoing the returned message object back.
{
  const client = new OpenAI({ baseURL: base, apiKey: 'k' });
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: weather } }];
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'What is in this image, and the weather in Paris?' }, { type: 'image_url', image_url: { url: IMG, detail: 'low' } }] },
  ];
  const first = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, tools, temperature: 0.2, max_completion_tokens: 100 });
  const msg = first.choices[0].message;
  messages.push(msg);
  for (const tc of msg.tool_calls) messages.push({ role: 'tool', tool_call_id: tc.id, content: '{"sky":"sunny"}' });
  const second = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, tools });
  messages.push(second.choices[0].message);
  messages.push({ role: 'user', content: [{ type: 'text', text: 'And this audio?' }, { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZF', format: 'wav' } }] });
  await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, stream: false, stop: ['END'] });
  save('openai-node');
}

// Vercel AI SDK with @ai-sdk/openai's Chat Completions model: a tool step, then the answer.
{
  const provider = createOpenAI({ baseURL: base, apiKey: 'k' });
  const r = await generateText({
    model: provider.chat('gemini-2.5-flash'),
    system: 'Be brief.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this image, and the weather in Paris?' }, { type: 'image', image: IMG }] }],
    tools: { get_weather: tool({ description: 'Weather', inputSchema: jsonSchema(weather), execute: async () => ({ sky: 'sunny' }) }) },
    stopWhen: stepCountIs(3),
    temperature: 0.2,
  });
  await generateText({
    model: provider.chat('gemini-2.5-flash'),
    messages: [...[{ role: 'user', content: [{ type: 'text', text: 'What is in this image, and the weather in Paris?' }, { type: 'image', image: IMG }] }],
      ...r.response.messages, { role: 'user', content: 'Thanks. And tomorrow?' }],
    tools: { get_weather: tool({ description: 'Weather', inputSchema: jsonSchema(weather), execute: async () => ({ sky: 'rain' }) }) },
    stopWhen: stepCountIs(1),
  });
  save('vercel-ai');
}

// LangChain: bindTools, invoke, feed the AIMessage and a ToolMessage back.
{
  const llm = new ChatOpenAI({ model: 'gemini-2.5-flash', apiKey: 'k', configuration: { baseURL: base }, temperature: 0.2 });
  const withTools = llm.bindTools([{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: weather } }]);
  const history = [new SystemMessage('Be brief.'), new HumanMessage({ content: [{ type: 'text', text: 'What is in this image, and the weather in Paris?' }, { type: 'image_url', image_url: { url: IMG } }] })];
  const ai = await withTools.invoke(history);
  history.push(ai);
  for (const tc of ai.tool_calls) history.push(new ToolMessage({ tool_call_id: tc.id, content: '{"sky":"sunny"}' }));
  const ai2 = await withTools.invoke(history);
  history.push(ai2, new HumanMessage('And tomorrow?'));
  await withTools.invoke(history);
  save('langchain-openai');
}
server.close();
