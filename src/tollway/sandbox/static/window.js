/* Tollway sandbox window: Escape is the buyer's cancel (as the 취소 button); when a step opens, or
   when the window itself gets the focus (the SDK's overlay focuses its frame), the first error or
   the first choice gets it. */
(function () {
  "use strict";
  function focusFirst() {
    // never take the focus from a field the buyer is already in
    if (document.activeElement && document.activeElement !== document.body) return;
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
  // In the SDK's overlay, the frame takes the height of the page (the SDK accepts it only from the
  // gateway's origin; a height is all this message says).
  function fit() {
    if (window.parent === window) return;
    var last = document.querySelector("main").lastElementChild;
    if (!last) return;
    var height = last.getBoundingClientRect().bottom + window.scrollY + 24;
    window.parent.postMessage({ source: "tollway", type: "imp:resize", height: height }, "*");
  }
  document.addEventListener("DOMContentLoaded", focusFirst);
  document.addEventListener("DOMContentLoaded", fit);
  window.addEventListener("focus", focusFirst);
})();
