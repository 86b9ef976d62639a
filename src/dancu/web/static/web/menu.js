// On a phone the officer's menu starts folded: its fifteen entries would push every page's content below
// the fold. Without script it stays open, as on a wider screen, where it is always shown. Loaded right
// after the menu, before the page is drawn, so that a phone never shows it open first.
(function () {
  var menu = document.getElementById("menu");
  if (!menu) return;
  var narrow = window.matchMedia("(max-width: 47.99rem)");
  menu.open = !narrow.matches;
  narrow.addEventListener("change", function (event) { menu.open = !event.matches; });
})();
