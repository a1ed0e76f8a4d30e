// Drives the real `phoenix` client for tests/phoenix: commands arrive as JSON lines on stdin, everything
// the client sees leaves as JSON lines on stdout. Binary payloads travel as {"base64": "..."}.
import readline from "node:readline"
import {LongPoll, Socket} from "phoenix"
import WebSocket from "ws"

const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n")
const channels = new Map()
let socket = null

const toWire = (payload) =>
  payload && payload.base64 !== undefined ? Uint8Array.from(Buffer.from(payload.base64, "base64")).buffer : payload
const fromWire = (payload) =>
  payload instanceof ArrayBuffer ? {base64: Buffer.from(payload).toString("base64")} : payload

// V1 has no arrays and no binary: the client's documented hook for another serializer.
const v1 = {
  encode: (msg, callback) => callback(JSON.stringify(msg)),
  decode: (raw, callback) => callback(JSON.parse(raw)),
}

const commands = {
  connect({url, transport, vsn, params, authToken, heartbeatIntervalMs}) {
    const options = {
      transport: transport === "longpoll" ? LongPoll : WebSocket,
      params: params || {},
      rejoinAfterMs: () => 100,
      reconnectAfterMs: () => 100,
      longpollerTimeout: 5000,
      ...(vsn === "1.0.0" ? {vsn, ...v1} : {}),
      ...(authToken ? {authToken} : {}),
      ...(heartbeatIntervalMs ? {heartbeatIntervalMs} : {}),
    }
    socket = new Socket(url, options)
    socket.onOpen(() => emit({ev: "open"}))
    socket.onClose((event) => emit({ev: "close", code: event && event.code}))
    socket.onError((error) => emit({ev: "error", error: String(error)}))
    socket.onMessage((msg) => emit({ev: "message", topic: msg.topic, event: msg.event, ref: msg.ref,
                                    join_ref: msg.join_ref, payload: fromWire(msg.payload)}))
    socket.connect()
  },
  join({topic, payload}) {
    const channel = socket.channel(topic, payload || {})
    channels.set(topic, channel)
    channel.onError((reason) => emit({ev: "channel_error", topic, reason}))
    channel.onClose(() => emit({ev: "channel_close", topic}))
    channel.join()
      .receive("ok", (response) => emit({ev: "join", topic, status: "ok", response}))
      .receive("error", (response) => emit({ev: "join", topic, status: "error", response}))
      .receive("timeout", () => emit({ev: "join", topic, status: "timeout"}))
  },
  push({id, topic, event, payload}) {
    channels.get(topic).push(event, toWire(payload))
      .receive("ok", (response) => emit({ev: "reply", id, status: "ok", response: fromWire(response)}))
      .receive("error", (response) => emit({ev: "reply", id, status: "error", response: fromWire(response)}))
      .receive("timeout", () => emit({ev: "reply", id, status: "timeout"}))
  },
  leave({topic}) {
    channels.get(topic).leave().receive("ok", () => emit({ev: "left", topic}))
  },
  disconnect() {
    socket.disconnect(() => emit({ev: "disconnected"}))
  },
}

readline.createInterface({input: process.stdin}).on("line", (line) => {
  const command = JSON.parse(line)
  commands[command.op](command)
}).on("close", () => process.exit(0))
emit({ev: "ready"})
