// One waveform per stem (wavesurfer.js drawing over the stem's own <audio> element), one transport for all,
// and solo/mute per stem. The <audio> elements stay the players, so keyboard and screen readers reach them.
import WaveSurfer from "wavesurfer.js";

export const StemPlayers = {
  mounted() {
    this.rows = [...this.el.querySelectorAll("[data-stem]")].map((row) => {
      const audio = row.querySelector("audio");
      const wave = WaveSurfer.create({
        container: row.querySelector(".wave"), media: audio, height: 48,
        waveColor: "#8aa4c8", progressColor: "#28518a", cursorColor: "#111",
      });
      return { row, audio, wave, muted: false, solo: false };
    });
    this.el.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const row = this.rows.find((r) => r.row.contains(button));
      const action = button.dataset.action;
      if (action === "play") this.playAll();
      else if (action === "pause") this.rows.forEach((r) => r.audio.pause());
      else if (row && action === "mute") row.muted = !row.muted;
      else if (row && action === "solo") row.solo = !row.solo;
      this.apply();
    });
  },
  playAll() {
    const start = this.rows[0]?.audio.currentTime || 0;
    this.rows.forEach((r) => { r.audio.currentTime = start; r.audio.play().catch(() => {}); });
  },
  apply() {
    const soloing = this.rows.some((r) => r.solo);
    this.rows.forEach((r) => {
      r.audio.muted = r.muted || (soloing && !r.solo);
      r.row.querySelector("[data-action=mute]").setAttribute("aria-pressed", String(r.muted));
      r.row.querySelector("[data-action=solo]").setAttribute("aria-pressed", String(r.solo));
    });
  },
  destroyed() {
    this.rows.forEach((r) => r.wave.destroy());
  },
};
