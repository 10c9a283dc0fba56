/* Tollway checkout: posts the window's result to the merchant's page, and only to its origin. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("result-data").textContent);
  if (window.parent && window.parent !== window) {
    window.parent.postMessage({ source: "tollway", type: "imp:result", result: data.result }, data.origin);
  }
})();
