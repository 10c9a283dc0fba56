/* Tollway sandbox window: Escape is the buyer's cancel (as the 취소 button), and the first error
   or the first choice gets the focus when a step opens. */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var cancel = document.getElementById("cancel");
    if (cancel) { event.preventDefault(); cancel.click(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("[aria-invalid=true]");
    var first = invalid || document.querySelector("main input:not([type=hidden]), main select, main button");
    if (first && typeof first.focus === "function") first.focus();
  });
})();
