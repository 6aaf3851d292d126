// Records a user message for a pair, then asks convstate whether a free-form (non-template)
// message may be sent to that user now, and prints the decision as one JSON line.
//
//   npm ci                                          # once, in the repository root
//   npx tsx clients/ts/example.ts 127.0.0.1:50051   # gen/ts is checked in
//
// Against a server with --auth-tokens and/or TLS, set CONVSTATE_TOKEN (a bearer token) and
// CONVSTATE_TLS_CA (the PEM file of the CA that signed the server's certificate).
import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate, timestampNow, type Timestamp } from "@bufbuild/protobuf/wkt";

import { WindowService } from "../../gen/ts/convstate/v1/window_service_pb";
import { DecisionReasonSchema } from "../../gen/ts/convstate/v1/convstate_pb";

const businessId = "106540352242922"; // the business phone number id
const userId = "5511987654321"; // the user's wa_id

async function main(addr: string): Promise<void> {
  // Real gRPC over HTTP/2 (createGrpcTransport always uses HTTP/2): plaintext, or TLS with a CA.
  const ca = process.env.CONVSTATE_TLS_CA;
  const token = process.env.CONVSTATE_TOKEN;
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcTransport({
    baseUrl: `${ca ? "https" : "http"}://${addr}`,
    nodeOptions: ca ? { ca: readFileSync(ca) } : undefined,
    interceptors: token ? [bearer] : [],
  });
  const windowService = createClient(WindowService, transport);

  // A message from the user opens (or refreshes) the 24-hour customer service window.
  // Use Meta's message id (wamid) and timestamp from the webhook; recording is idempotent on the id.
  const messageId = `wamid.ts-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
  await windowService.recordUserMessage(
    { message: { businessId, userId, messageId, timestamp: timestampNow() } },
    { timeoutMs: 10_000 },
  );

  // No template in the request: ask about a free-form message, at the server's now.
  const d = await windowService.decide({ businessId, userId }, { timeoutMs: 10_000 });

  console.log(
    JSON.stringify({
      free_form_allowed: d.freeFormAllowed,
      reason: DecisionReasonSchema.value[d.reason]?.name,
      window_expires_at: rfc3339(d.windowExpiresAt),
      send_before: rfc3339(d.sendBefore),
      message_id: messageId,
    }),
  );
}

function rfc3339(ts: Timestamp | undefined): string | null {
  return ts ? timestampDate(ts).toISOString() : null;
}

const [addr] = process.argv.slice(2);
if (!addr) {
  console.error("usage: example.ts HOST:PORT");
  process.exit(2);
}
main(addr).catch((err: unknown) => {
  if (err instanceof ConnectError) {
    // The gRPC status: its code and the server's message.
    console.error(`convstate: ${Code[err.code]}: ${err.rawMessage}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
