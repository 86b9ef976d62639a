// The activation slip's print button. A script file rather than an inline handler, as the layout's own
// scripts are: the pages carry no inline JavaScript.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
