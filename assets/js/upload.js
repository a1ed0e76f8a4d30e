// Sends the chosen audio file to POST /api/tracks with XMLHttpRequest, whose upload events give the
// progress bar its value, then tells the view which track was created ("uploaded").
export const Upload = {
  mounted() {
    const form = this.el;
    const bar = form.querySelector("progress");
    const status = form.querySelector("[data-upload-status]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = form.querySelector("input[type=file]");
      if (!input.files.length) {
        status.textContent = "Choose an audio file first.";
        return;
      }
      const body = new FormData();
      body.append("file", input.files[0]);
      const request = new XMLHttpRequest();
      request.open("POST", "/api/tracks");
      request.setRequestHeader("X-CSRF-Token", document.querySelector("meta[name='csrf-token']").content);
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          bar.value = Math.round((100 * e.loaded) / e.total);
          status.textContent = `Uploading… ${bar.value}%`;
        }
      });
      request.addEventListener("load", () => {
        let reply = {};
        try { reply = JSON.parse(request.responseText); } catch (_) { /* not JSON: shown below */ }
        if (request.status === 201) {
          bar.value = 100;
          status.textContent = "Uploaded.";
          this.pushEvent("uploaded", { track_id: reply.data.id, title: reply.data.title });
        } else {
          status.textContent = reply.error || `Upload failed (${request.status}).`;
        }
      });
      request.addEventListener("error", () => { status.textContent = "Upload failed: the connection broke."; });
      status.textContent = "Uploading… 0%";
      request.send(body);
    });
  },
};
