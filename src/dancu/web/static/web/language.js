// The language switch sends the address of the page to come back to. The address can change after the
// page was drawn (the HTMX search pushes its query into it), so the current one is read when it is sent.
// A static file rather than an attribute in the page: the pages hold no script of their own.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.classList.contains("language") && form.elements.next) {
    form.elements.next.value = location.pathname + location.search;
  }
});
