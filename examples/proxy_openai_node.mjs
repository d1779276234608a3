// The official OpenAI SDK for Node, through `sagemaker-openai proxy`: a chat, a stream and a tool call.
//
//   sagemaker-openai proxy --outputs-file cdk-outputs.json        # in another terminal
//   node examples/proxy_openai_node.mjs [BASE_URL] [MODEL]
//
// BASE_URL defaults to http://127.0.0.1:8000/v1 and MODEL to the proxy's first model. The proxy holds the
// SageMaker token: this program has no AWS code and no AWS credentials. Set PROXY_API_KEY when the proxy
// runs with --api-key-env.
import OpenAI from "openai";

const baseURL = process.argv[2] ?? "http://127.0.0.1:8000/v1";
const client = new OpenAI({ baseURL, apiKey: process.env.PROXY_API_KEY ?? "unused", maxRetries: 2 });
const model = process.argv[3] ?? (await client.models.list()).data[0].id;

const chat = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Say hello in one short sentence." }],
});
console.log(`chat: ${chat.choices[0].message.content}`);

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Count from one to five." }],
  stream: true,
});
let streamed = "";
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
}
console.log(`stream: ${streamed}`);

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The current weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const getWeather = ({ city }) => `18 C and sunny in ${city}`;
const messages = [{ role: "user", content: "Paris" }];
const asked = await client.chat.completions.create({ model, messages, tools });
const call = asked.choices[0].message.tool_calls[0];
messages.push(asked.choices[0].message, {
  role: "tool",
  tool_call_id: call.id,
  content: getWeather(JSON.parse(call.function.arguments)),
});
const answered = await client.chat.completions.create({ model, messages, tools });
console.log(`tool ${call.function.name}: ${answered.choices[0].message.content}`);
