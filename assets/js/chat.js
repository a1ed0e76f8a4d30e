// The chat's reply arrives as a push ("chat:done"): bring the newest message into view and give the
// message box the focus back, so a keyboard user can type the next one at once.
export const Chat = {
  mounted() {
    this.handleEvent("chat:done", () => {
      this.el.lastElementChild?.scrollIntoView({ block: "end" });
      document.getElementById("message")?.focus();
    });
  },
};
