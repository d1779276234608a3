// The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible`), through `sagemaker-openai proxy`: a chat,
// a stream and a tool call with a zod schema.
//
//   sagemaker-openai proxy --outputs-file cdk-outputs.json        # in another terminal
//   node examples/proxy_vercel_ai.mjs [BASE_URL] [MODEL]
//
// BASE_URL defaults to http://127.0.0.1:8000/v1 and MODEL to the proxy's first model. Set PROXY_API_KEY
// when the proxy runs with --api-key-env.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const baseURL = process.argv[2] ?? "http://127.0.0.1:8000/v1";
const apiKey = process.env.PROXY_API_KEY ?? "unused";
const modelName =
  process.argv[3] ??
  (await (await fetch(`${baseURL}/models`, { headers: { Authorization: `Bearer ${apiKey}` } })).json()).data[0].id;
const sagemaker = createOpenAICompatible({ name: "sagemaker", baseURL, apiKey });
const model = sagemaker(modelName);

const chat = await generateText({ model, prompt: "Say hello in one short sentence." });
console.log(`chat: ${chat.text}`);

const stream = streamText({ model, prompt: "Count from one to five." });
let streamed = "";
for await (const part of stream.textStream) {
  streamed += part;
}
console.log(`stream: ${streamed}`);

const withTool = await generateText({
  model,
  prompt: "Paris",
  tools: {
    get_weather: tool({
      description: "The current weather in a city",
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => `18 C and sunny in ${city}`,
    }),
  },
  // Step 1: the model calls the tool; step 2: it answers with the tool's result.
  stopWhen: stepCountIs(2),
});
const called = withTool.steps.flatMap((step) => step.toolCalls.map((call) => call.toolName));
console.log(`tool ${called.join(", ")}: ${withTool.text}`);
