/* Tollway sandbox window: Escape is the buyer's cancel (as the 취소 button); when a step opens, or
   when the window itself gets the focus (the SDK's overlay focuses its frame), the first error or
   the first choice gets it. */
(function () {
  "use strict";
  function focusFirst() {
    var invalid = document.querySelector("[aria-invalid=true]");
    var checked = document.querySelector("main input[type=radio]:checked");
    var first = invalid || checked || document.querySelector("main input:not([type=hidden]), main select, main button");
    if (first && typeof first.focus === "function") first.focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var cancel = document.getElementById("cancel");
    if (cancel) { event.preventDefault(); cancel.click(); }
  });
  document.addEventListener("DOMContentLoaded", focusFirst);
  window.addEventListener("focus", function () {
    if (!document.activeElement || document.activeElement === document.body) focusFirst();
  });
})();
