// A WhatsApp Cloud API client written with the third-party library whatsapp-api-js,
// pointed at the sandbox. wajs_test.go drives it over stdin/stdout, one JSON line
// each way:
//   out {"listening":PORT}        its webhook receiver is up (node:http + the library)
//   in  {"base":URL,"sends":N}    upload one image, then send N hello_world templates
//   out {"media_id":..,"wamids":[..]}
//   in  {"report":true}
//   out {"statuses":{"sent":n,..},"codes":[..],"callbacks":n}  what the library's
//       on.status handler saw; then it exits.
// The library reads only value.statuses[0] of each webhook POST, as many clients do,
// so statuses batched into one POST are lost to it.
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { WhatsAppAPI } from "whatsapp-api-js/middleware/node-http";
import { Template, Language } from "whatsapp-api-js/messages";

const { APP_SECRET, TOKEN, PHONE_ID } = process.env;
let base = "";
const api = new WhatsAppAPI({
  token: TOKEN,
  appSecret: APP_SECRET,
  v: "v25.0",
  ponyfill: {
    // The library calls graph.facebook.com; the sandbox stands in for it.
    fetch: (url, init) => fetch(String(url).replace(/^https:\/\/graph\.facebook\.com/, base), init),
  },
});

const statuses = {};
const codes = [];
let callbacks = 0;
api.on = {
  status: ({ status, error, biz_opaque_callback_data }) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (error) codes.push(error.code);
    if (biz_opaque_callback_data) callbacks++;
  },
};

const server = createServer(async (req, res) => {
  res.statusCode = req.method === "POST" ? await api.handle_post(req) : 405;
  res.end();
});

function say(v) {
  process.stdout.write(JSON.stringify(v) + "\n");
}

server.listen(0, "127.0.0.1", () => say({ listening: server.address().port }));

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const cmd = JSON.parse(line);
  if (cmd.base) {
    base = cmd.base;
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: "image/png" }), "a.png");
    const media = await api.uploadMedia(PHONE_ID, form);
    const wamids = [];
    for (let i = 0; i < cmd.sends; i++) {
      const to = "62812000" + String(i).padStart(5, "0");
      const r = await api.sendMessage(PHONE_ID, to, new Template("hello_world", new Language("en_US")), undefined, "cb-" + i);
      wamids.push(r.messages?.[0]?.id ?? JSON.stringify(r));
    }
    say({ media_id: media.id ?? JSON.stringify(media), wamids });
  } else if (cmd.report) {
    say({ statuses, codes, callbacks });
    break;
  }
}
server.close();
process.exit(0);
