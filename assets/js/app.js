// The browser side of SFA's live pages: the real phoenix_live_view client plus a few hooks
// (upload with progress, stem players, analysis plots). Built by assets/build.mjs into sfa/web/static.
import { Socket } from "phoenix";
import { LiveSocket } from "phoenix_live_view";
import { Chat } from "./chat.js";
import { StemPlayers } from "./stems.js";
import { Heatmap, LinePlot } from "./plots.js";
import { Upload } from "./upload.js";

const csrf = document.querySelector("meta[name='csrf-token']")?.getAttribute("content");
const Hooks = { Chat, Heatmap, LinePlot, StemPlayers, Upload };

if (document.querySelector("[data-phx-main]")) {
  const liveSocket = new LiveSocket("/live", Socket, {
    params: { _csrf_token: csrf },
    hooks: Hooks,
    longPollFallbackMs: 2500,
  });
  liveSocket.connect();
  window.liveSocket = liveSocket;
}
